package explain

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
)

// vitOf returns the ViT configuration of enc, if it is one.
func vitOf(enc models.Encoder) (models.ViTConfig, bool) {
	switch v := enc.(type) {
	case models.ViTConfig:
		return v, true
	case *models.ViTConfig:
		return *v, true
	}
	return models.ViTConfig{}, false
}

// Attention returns every block's attention probabilities of the ViT encoder on images,
// in inference mode: [layer][image] → [heads][T][T] flattened (T = 1 + patches, the class
// token first; rows are queries and sum to 1), with T. It is what Rollout reads.
func (m *Model) Attention(images *data.Split) (attn [][][]float32, heads, tokens int, err error) {
	defer trainutil.Recover("explain: attention", &err)
	vit, ok := vitOf(m.Encoder)
	if !ok {
		return nil, 0, 0, fmt.Errorf("explain: attention rollout needs a ViT encoder, got %s", m.Encoder.Name())
	}
	if images == nil || images.N == 0 {
		return nil, 0, 0, fmt.Errorf("explain: no images")
	}
	exec, err := model.NewExec(m.Backend, m.Store, func(scope *model.Scope, x *Node) []*Node {
		_, probs := vit.TokensAndAttention(scope.In(models.EncoderScope), x)
		return probs
	})
	if err != nil {
		return nil, 0, 0, err
	}
	defer exec.Finalize()
	attn = make([][][]float32, vit.Depth)
	for start := 0; start < images.N; start += batchSize {
		idx := indices(start, min(start+batchSize, images.N))
		x := tensors.FromFlatDataAndDimensions(images.ImagesFloat32(idx), len(idx), images.Height, images.Width, images.Channels)
		res, err := exec.Call(x)
		if err != nil {
			return nil, 0, 0, err
		}
		dims := res[0].Shape().Dimensions
		heads, tokens = dims[1], dims[2]
		out, err := flatten(res)
		if err != nil {
			return nil, 0, 0, err
		}
		per := heads * tokens * tokens
		for l, flat := range out {
			for b := range idx {
				attn[l] = append(attn[l], flat[b*per:(b+1)*per])
			}
		}
	}
	return attn, heads, tokens, nil
}

// Rollout returns the attention rollout map (Abnar and Zuidema, ACL 2020) of every image:
// for each block, the attention averaged over heads plus the identity (the residual
// connection), rows renormalised to sum to 1,
//
//	Â_l = norm_rows(mean_h A_l,h + I),    R = Â_L · … · Â_2 · Â_1,
//
// and the class token's row of R over the patch tokens, reshaped to the patch grid,
// upsampled to the image (Upsample) and stretched from its minimum to its maximum
// (NormaliseRange; Map.Contrast says by how much). It reads only
// the encoder, so it explains every arm with a ViT encoder the same way, kNN included, and
// does not depend on a class: it shows where the class token gathers information from.
func (m *Model) Rollout(images *data.Split) ([]Map, error) {
	vit, ok := vitOf(m.Encoder)
	if !ok {
		return nil, fmt.Errorf("explain: attention rollout needs a ViT encoder, got %s", m.Encoder.Name())
	}
	attn, heads, tokens, err := m.Attention(images)
	if err != nil {
		return nil, err
	}
	gh, gw := images.Height/vit.PatchSize, images.Width/vit.PatchSize
	if tokens != 1+gh*gw {
		return nil, fmt.Errorf("explain: %d tokens for a %d×%d patch grid", tokens, gh, gw)
	}
	maps := make([]Map, images.N)
	for b := range maps {
		layers := make([][]float32, len(attn))
		for l := range attn {
			layers[l] = attn[l][b]
		}
		row := RolloutRow(layers, heads, tokens)
		maps[b] = newMap(MethodRollout, row[1:], gh, gw, images.Height, images.Width)
	}
	return maps, nil
}

// RolloutRow computes attention rollout from one image's attention maps, layers[l] being
// [heads][T][T] flattened, and returns the class token's (row 0's) row of R, T values.
func RolloutRow(layers [][]float32, heads, t int) []float32 {
	// r starts as the identity; each layer multiplies from the left: r ← Â_l · r.
	r := make([]float64, t*t)
	for i := range t {
		r[i*t+i] = 1
	}
	a := make([]float64, t*t)
	next := make([]float64, t*t)
	for _, att := range layers {
		for i := range t {
			var sum float64
			for j := range t {
				var mean float64
				for h := range heads {
					mean += float64(att[(h*t+i)*t+j])
				}
				v := mean / float64(heads)
				if i == j {
					v++
				}
				a[i*t+j] = v
				sum += v
			}
			for j := range t {
				a[i*t+j] /= sum
			}
		}
		for i := range t {
			for j := range t {
				var s float64
				for k := range t {
					s += a[i*t+k] * r[k*t+j]
				}
				next[i*t+j] = s
			}
		}
		r, next = next, r
	}
	row := make([]float32, t)
	for j := range t {
		row[j] = float32(r[j])
	}
	return row
}
