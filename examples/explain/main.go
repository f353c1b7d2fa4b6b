// Command explain draws where models look on a few test images: Grad-CAM of a supervised
// ResNet (last stage and stage 3) and of a linear probe, attention rollout of a supervised
// ViT and of an MAE-pretrained ViT, an empty column for a ResNet kNN arm (no class
// gradient), and MAE reconstructions. The rows are the same seeded images in every column.
//
//	go run ./examples/explain -out explain-look
//
// It writes <out>/arms.png and <out>/mae.png and prints each model's test AUC.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/explain"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

func main() {
	out := flag.String("out", "explain-look", "output directory (created)")
	dataPath := flag.String("data", "", "MedMNIST .npz file (default: the embedded BreastMNIST)")
	epochs := flag.Int("epochs", 20, "epochs of each supervised model")
	maeEpochs := flag.Int("mae-epochs", 60, "epochs of MAE pretraining")
	normPix := flag.Bool("norm-pix", true, "MAE predicts normalised patches (ssl.NewMAE's default); false: raw pixels, as the MAE paper's figures")
	perClass := flag.Int("per-class", 3, "test images per class (rows)")
	seed := flag.Int64("seed", 1, "seed of training and of the image choice")
	flag.Parse()
	if err := run(*out, *dataPath, *epochs, *maeEpochs, *perClass, *seed, *normPix); err != nil {
		cli.Fatal(err)
	}
}

func run(out, dataPath string, epochs, maeEpochs, perClass int, seed int64, normPix bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ds, err := cli.Dataset(dataPath)
	if err != nil {
		return err
	}
	backend, err := medssl.Backend()
	if err != nil {
		return err
	}
	sel, err := explain.ChooseImages(ds.Test, perClass, seed)
	if err != nil {
		return err
	}
	resnet := models.ResNetConfig{Depth: 18, BaseWidth: 16, Stem: models.SmallImageStem}
	vit := models.ViTConfig{PatchSize: 4, Width: 64, Depth: 4, Heads: 4, MLPRatio: 2}
	train := func(enc models.Encoder) (*supervised.Classifier, error) {
		cfg := supervised.DefaultConfig()
		cfg.Backend, cfg.Encoder, cfg.Epochs, cfg.BatchSize, cfg.Seed = backend, enc, epochs, 64, seed
		return supervised.Train(ds.Train, ds.Val, ds.NumClasses, cfg)
	}
	report := func(name string, probs [][]float32, err error) error {
		if err != nil {
			return err
		}
		auc, err := metrics.AUC(ds.Test.IntLabels(), metrics.FromFloat32(probs))
		fmt.Printf("%-28s test AUC %.3f\n", name, auc)
		return err
	}
	var cols []explain.Column
	add := func(title string, m *explain.Model, stage int) error {
		if stage == explain.LastStage {
			col, err := explain.NewColumn(title, m, sel, explain.TrueClass)
			cols = append(cols, col)
			return err
		}
		maps, err := m.GradCAM(sel.Images, explain.TrueClass, stage)
		cols = append(cols, explain.Column{Title: title, Maps: maps})
		return err
	}

	clf, err := train(resnet)
	if err != nil {
		return err
	}
	probs, err := clf.Predict(ds.Test)
	if err := report("supervised ResNet", probs, err); err != nil {
		return err
	}
	m, err := explain.FromClassifier(clf)
	if err != nil {
		return err
	}
	if err := add("supervised", m, explain.LastStage); err != nil {
		return err
	}
	if err := add("supervised, stage 3", m, 3); err != nil {
		return err
	}

	random := eval.RandomEncoder(seed)
	pcfg := eval.DefaultProbeConfig()
	pcfg.Backend, pcfg.Encoder, pcfg.Seed = backend, resnet, seed
	probe, err := eval.LinearProbe(ds.Train, ds.Val, ds.NumClasses, random, pcfg)
	if err != nil {
		return err
	}
	probs, err = probe.Predict(ds.Test)
	if err := report("linear probe, random ResNet", probs, err); err != nil {
		return err
	}
	if m, err = explain.FromProbe(probe); err != nil {
		return err
	}
	if err := add("linear, random enc.", m, explain.LastStage); err != nil {
		return err
	}
	if m, err = explain.FromEncoder(backend, random, resnet); err != nil {
		return err
	}
	if err := add("knn", m, explain.LastStage); err != nil {
		return err
	}

	vitClf, err := train(vit)
	if err != nil {
		return err
	}
	probs, err = vitClf.Predict(ds.Test)
	if err := report("supervised ViT", probs, err); err != nil {
		return err
	}
	if m, err = explain.FromClassifier(vitClf); err != nil {
		return err
	}
	if err := add("supervised ViT", m, explain.LastStage); err != nil {
		return err
	}

	mae := ssl.NewMAE()
	mae.DecoderWidth, mae.DecoderDepth, mae.NormPixLoss = 64, 2, normPix
	pre := ssl.DefaultPretrainConfig()
	pre.Backend, pre.Encoder, pre.Method = backend, vit, mae
	pre.Epochs, pre.BatchSize, pre.Seed, pre.MonitorEpochs, pre.Augment = maeEpochs, 64, seed, 0, nil
	pretrained, err := ssl.Pretrain(ds.Train, pre)
	if err != nil {
		return err
	}
	fmt.Printf("MAE loss: first %.3f, last %.3f after %d steps\n", pretrained.Loss[0], pretrained.Loss[len(pretrained.Loss)-1], pretrained.Steps)
	if m, err = explain.FromEncoder(backend, pretrained.Store, vit); err != nil {
		return err
	}
	if err := add("MAE ViT encoder", m, explain.LastStage); err != nil {
		return err
	}

	grid, err := explain.HeatGrid(fmt.Sprintf("%s test images: where each model looks (Grad-CAM of the true class; rollout)", ds.Name), sel, cols)
	if err != nil {
		return err
	}
	if err := explain.WriteGrid(filepath.Join(out, "arms.png"), grid); err != nil {
		return err
	}
	recs, err := explain.MAEReconstructions(backend, pretrained.Store, vit, mae, sel.Images, seed)
	if err != nil {
		return err
	}
	mg, err := explain.MAEGrid(fmt.Sprintf("MAE (%d epochs, mask %.0f%%, normalised patches %v) on %s test images", maeEpochs, 100*mae.MaskRatio, normPix, ds.Name), sel.RowLabels(), recs)
	if err != nil {
		return err
	}
	if err := explain.WriteGrid(filepath.Join(out, "mae.png"), mg); err != nil {
		return err
	}
	fmt.Println("wrote", filepath.Join(out, "arms.png"), "and", filepath.Join(out, "mae.png"))
	return nil
}
