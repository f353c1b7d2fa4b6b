package ssl

import (
	"fmt"

	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
)

// Recipe names a family of pretraining recipes; For resolves it for one method, encoder and
// batch size, so that a study pretraining several methods gives each its own.
type Recipe string

// The recipes.
const (
	// RecipeAdam is medssl's first recipe, for every method: Adam with learning rate 1e-3,
	// decoupled weight decay 1e-6, GoMLX's ε 1e-7, constant rate (the peer script's
	// "--recipe medssl").
	RecipeAdam Recipe = "adam"
	// RecipePaper is each method's paper recipe (PaperRecipe), its learning rate scaled to
	// the batch size as the paper scales it.
	RecipePaper Recipe = "paper"
	// RecipeSolo is solo-learn's CIFAR recipe (the peer script's "--recipe solo"): LARS with
	// η 0.02, clip_lr, biases and norms excluded, weight decay 1e-5, learning rate
	// 0.4·B/256 (BYOL: 1.0·B/256), warm-up over 10 epochs (10% of shorter runs) from 3e-5,
	// then cosine to 0.
	RecipeSolo Recipe = "solo"
)

// Recipes lists the recipe names.
func Recipes() []Recipe { return []Recipe{RecipeAdam, RecipePaper, RecipeSolo} }

// ParseRecipe returns the recipe named s.
func ParseRecipe(s string) (Recipe, error) {
	for _, r := range Recipes() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("ssl: unknown recipe %q (known: %v)", s, Recipes())
}

// For returns the optimisation recipe r gives method m (by its Name) on encoder enc with
// batches of batch images.
func (r Recipe) For(m Method, enc models.Encoder, batch int) (optim.Config, error) {
	if m == nil || enc == nil || batch <= 0 {
		return optim.Config{}, fmt.Errorf("ssl: recipe %s needs a method, an encoder and a batch size > 0", r)
	}
	switch r {
	case RecipeAdam:
		c := optim.AdamConfig(1e-3)
		c.WeightDecay, c.Epsilon = 1e-6, 1e-7
		return c, nil
	case RecipePaper:
		return PaperRecipe(m.Name(), enc, batch)
	case RecipeSolo:
		base := 0.4
		if m.Name() == "byol" {
			base = 1.0
		}
		c := optim.LARSConfig(base, 1e-5).Scaled(batch)
		c.Eta, c.ClipLR = 0.02, true
		c.Schedule.WarmupStart = 3e-5 / c.LearningRate
		return c, nil
	}
	return optim.Config{}, fmt.Errorf("ssl: unknown recipe %q (known: %v)", r, Recipes())
}

// PaperRecipe returns the optimisation recipe the paper of the built-in method name trains
// with, learning rate scaled to batch as the paper states it (base·B/256, RotNet's
// base·B/128). Where a paper gives one recipe for ResNets and one for ViTs, enc chooses.
// Simplifications are named: Barlow Twins' separate bias learning rate is not kept.
//
//	simclr       LARS 0.3·B/256, wd 1e-6, η 0.001, 10-epoch warm-up, cosine (Chen et al. 2020, §B.1)
//	moco-v2      SGD 0.03·B/256, momentum 0.9, wd 1e-4, cosine (Chen et al. 2020, MoCo v2)
//	moco-v3      ResNet: LARS 0.6·B/256, wd 1e-6, 10-epoch warm-up, cosine;
//	             ViT: AdamW 1.5e-4·B/256, wd 0.1, 40-epoch warm-up, cosine (Chen et al. 2021)
//	byol         LARS 0.2·B/256, wd 1.5e-6, η 0.001, 10-epoch warm-up, cosine (Grill et al. 2020, §C)
//	simsiam      SGD 0.05·B/256, momentum 0.9, wd 1e-4, cosine (Chen & He 2021)
//	barlowtwins  LARS 0.2·B/256, wd 1.5e-6, 10-epoch warm-up, cosine to 1/1000 (Zbontar et al. 2021)
//	vicreg       LARS 0.2·B/256, wd 1e-6, 10-epoch warm-up, cosine to 1/100 (Bardes et al. 2022)
//	dino         ViT: AdamW 5e-4·B/256, wd cosine 0.04→0.4, 10-epoch warm-up, cosine to 1e-6;
//	             ResNet: SGD 0.03·B/256, wd 1e-4 (Caron et al. 2021, the repository's ResNet-50 run)
//	mae          AdamW 1.5e-4·B/256, β (0.9, 0.95), wd 0.05, 40-epoch warm-up, cosine (He et al. 2022)
//	rotation     SGD Nesterov 0.1·B/128, wd 5e-4, ×0.2 at 30%, 60%, 80% (Gidaris et al. 2018, CIFAR)
//	jigsaw       SGD 0.01·B/256, momentum 0.9, wd 5e-4, ×0.1 at 1/3 and 2/3 (Noroozi & Favaro 2016)
//	genesis      SGD 1.0 (not scaled: the paper trains batches of 6 cubes), momentum 0.9, no weight
//	             decay, constant (Zhou et al. 2021's repository; its halving of the rate when the
//	             validation loss stalls is not reproduced)
//	simmim       AdamW 1e-4·B/256 (8e-4 at 2048), wd 0.05, 10-epoch warm-up, cosine (Xie et al. 2022)
func PaperRecipe(name string, enc models.Encoder, batch int) (optim.Config, error) {
	_, vit := enc.(models.ViTConfig)
	lars := func(base, wd float64) optim.Config { return optim.LARSConfig(base, wd).Scaled(batch) }
	sgd := func(base, wd float64) optim.Config {
		c := optim.SGDConfig(base).Scaled(batch)
		c.WeightDecay, c.Schedule = wd, optim.Schedule{Decay: optim.Cosine}
		return c
	}
	adamW := func(base, wd, warmup float64) optim.Config {
		c := optim.AdamConfig(base).Scaled(batch)
		c.WeightDecay, c.Schedule = wd, optim.Schedule{WarmupEpochs: warmup, Decay: optim.Cosine}
		return c
	}
	switch name {
	case "simclr":
		return lars(0.3, 1e-6), nil
	case "moco-v2":
		return sgd(0.03, 1e-4), nil
	case "moco-v3":
		if vit {
			return adamW(1.5e-4, 0.1, 40), nil
		}
		return lars(0.6, 1e-6), nil
	case "byol":
		return lars(0.2, 1.5e-6), nil
	case "simsiam":
		return sgd(0.05, 1e-4), nil
	case "barlowtwins":
		c := lars(0.2, 1.5e-6)
		c.Schedule.FinalFraction = 1e-3
		return c, nil
	case "vicreg":
		c := lars(0.2, 1e-6)
		c.Schedule.FinalFraction = 1e-2
		return c, nil
	case "dino":
		if !vit {
			return sgd(0.03, 1e-4), nil
		}
		c := adamW(5e-4, 0.04, 10)
		c.CosineWeightDecay, c.WeightDecayEnd = true, 0.4
		c.Schedule.FinalFraction = 1e-6 / c.LearningRate
		return c, nil
	case "mae":
		c := adamW(1.5e-4, 0.05, 40)
		c.Beta2 = 0.95
		return c, nil
	case "rotation":
		c := optim.SGDConfig(0.1 * float64(batch) / 128)
		c.Nesterov, c.WeightDecay = true, 5e-4
		c.Schedule = optim.Schedule{Decay: optim.Steps, Milestones: []float64{0.3, 0.6, 0.8}, Gamma: 0.2}
		return c, nil
	case "genesis":
		return optim.SGDConfig(1), nil
	case "simmim":
		return adamW(1e-4, 0.05, 10), nil
	case "jigsaw":
		c := optim.SGDConfig(0.01).Scaled(batch)
		c.WeightDecay = 5e-4
		c.Schedule = optim.Schedule{Decay: optim.Steps, Milestones: []float64{1.0 / 3, 2.0 / 3}, Gamma: 0.1}
		return c, nil
	}
	return optim.Config{}, fmt.Errorf("ssl: no paper recipe for method %q (set PretrainConfig.Optimizer yourself)", name)
}
