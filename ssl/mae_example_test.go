package ssl_test

import (
	"fmt"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// Masked-autoencoder pretraining of a small ViT (4×4 patches) on the embedded BreastMNIST;
// the encoder's weights end up under models.EncoderScope, where every protocol finds them.
func ExampleNewMAE() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	mae := ssl.NewMAE() // mask ratio 0.75, normalised pixel targets
	mae.DecoderWidth, mae.DecoderDepth = 32, 1
	vit := models.ViTConfig{PatchSize: 4, Width: 32, Depth: 2, Heads: 2}
	cfg := ssl.DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = medssl.MustBackend(), vit, mae
	cfg.Steps, cfg.BatchSize, cfg.Seed = 2, 32, 1
	pre, err := ssl.Pretrain(ds.Train, cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(pre.Method, pre.Encoder.Name(), len(pre.Loss))
	// Output: mae vit-w32-d2-h2/4 2
}
