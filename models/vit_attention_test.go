package models

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
)

// TestViTAttentionMatchesNaive recomputes a tiny ViT (random values in every variable,
// non-square image) on the host, layer by layer, and checks TokensAndAttention's attention
// probabilities against softmax(Q·Kᵀ/√d) of the naive forward pass, and its tokens against
// both the naive pass and Tokens (the fused inference path): the maps come from the same
// variables and computation as Encode, which TokensAndAttention leaves unchanged.
func TestViTAttentionMatchesNaive(t *testing.T) {
	const b, h, w, c = 2, 8, 12, 1
	enc := ViTConfig{PatchSize: 4, Width: 8, Depth: 2, Heads: 2, MLPRatio: 2}
	backend := medssl.MustBackend()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(3))
	images := randomTensor(4, b, h, w, c)
	build := func(scope *model.Scope, x *graph.Node) []*graph.Node {
		s := scope.In(EncoderScope)
		plain := enc.Tokens(s, x)
		tokens, attn := enc.TokensAndAttention(s, x)
		return append([]*graph.Node{plain, tokens}, attn...)
	}
	if _, err := model.MustNewExec(backend, store, build).Exec(images); err != nil {
		t.Fatal(err)
	}
	n := store.NumVariables()
	// Random values everywhere, biases and norms included, so that a misplaced one shows.
	seed := uint64(10)
	for v := range store.IterVariables() {
		if !v.Trainable {
			continue
		}
		seed++
		if err := v.SetValue(randomTensor(seed, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := model.MustNewExec(backend, store, build).Exec(images)
	if err != nil {
		t.Fatal(err)
	}
	if store.NumVariables() != n {
		t.Fatalf("TokensAndAttention created variables: %d -> %d", n, store.NumVariables())
	}
	if len(out) != 2+enc.Depth {
		t.Fatalf("%d outputs, want tokens, tokens and %d maps", len(out), enc.Depth)
	}
	plain, tokens := tensorsFlat(out[0]), tensorsFlat(out[1])
	for i := range plain {
		if math.Abs(float64(plain[i]-tokens[i])) > 1e-4 {
			t.Fatalf("token value %d: Tokens %v, TokensAndAttention %v", i, plain[i], tokens[i])
		}
	}

	vars := func(path string) []float64 {
		v := store.GetVariable("/" + EncoderScope + "/" + path)
		if v == nil {
			t.Fatalf("no variable %s", path)
		}
		flat := tensorsFlat(v.MustValue())
		out := make([]float64, len(flat))
		for i, x := range flat {
			out[i] = float64(x)
		}
		return out
	}
	// dense stores its weights [in, out] when out > in and [out, in] otherwise.
	denseHost := func(path string, x []float64, in, outDim int) []float64 {
		wts, bias := vars(path+"/weights"), vars(path+"/biases")
		y := make([]float64, outDim)
		for o := range outDim {
			y[o] = bias[o]
			for i := range in {
				if outDim > in {
					y[o] += x[i] * wts[i*outDim+o]
				} else {
					y[o] += x[i] * wts[o*in+i]
				}
			}
		}
		return y
	}
	layerNorm := func(path string, x []float64) []float64 {
		gain, off := vars(path+"/gain"), vars(path+"/offset")
		var m, v float64
		for _, a := range x {
			m += a
		}
		m /= float64(len(x))
		for _, a := range x {
			v += (a - m) * (a - m)
		}
		v /= float64(len(x))
		y := make([]float64, len(x))
		for i, a := range x {
			y[i] = (a-m)/math.Sqrt(v+DefaultViTLayerNormEpsilon)*gain[i] + off[i]
		}
		return y
	}

	d, heads, p := enc.Width, enc.Heads, enc.PatchSize
	dh, hidden := d/heads, enc.mlpHidden()
	gh, gw := h/p, w/p
	tt := 1 + gh*gw
	img := tensorsFlat(images)
	for bi := range b {
		// Tokens: the class token plus its position, then each patch (row-major pixels)
		// embedded and its position added.
		x := make([][]float64, tt)
		cls, clsPos := vars("class_token"), vars("class_position_embedding")
		x[0] = make([]float64, d)
		for k := range d {
			x[0][k] = cls[k] + clsPos[k]
		}
		pos := vars("position_embedding")
		for pi := range gh {
			for pj := range gw {
				patch := make([]float64, 0, p*p*c)
				for i := range p {
					for j := range p {
						for ch := range c {
							patch = append(patch, float64(img[((bi*h+pi*p+i)*w+pj*p+j)*c+ch]))
						}
					}
				}
				e := denseHost("patch_embed", patch, p*p*c, d)
				n := pi*gw + pj
				for k := range d {
					e[k] += pos[n*d+k]
				}
				x[1+n] = e
			}
		}
		for layer := range enc.Depth {
			blk := "block" + string(rune('0'+layer))
			qkv := make([][]float64, tt)
			for i := range tt {
				qkv[i] = denseHost(blk+"/attention/qkv", layerNorm(blk+"/norm1", x[i]), d, 3*d)
			}
			got := tensorsFlat(out[2+layer])
			o := make([][]float64, tt)
			for i := range o {
				o[i] = make([]float64, d)
			}
			for hd := range heads {
				for qi := range tt {
					scores := make([]float64, tt)
					maxS := math.Inf(-1)
					for ki := range tt {
						for j := range dh {
							scores[ki] += qkv[qi][hd*dh+j] * qkv[ki][d+hd*dh+j]
						}
						scores[ki] /= math.Sqrt(float64(dh))
						maxS = math.Max(maxS, scores[ki])
					}
					var z float64
					for ki := range scores {
						scores[ki] = math.Exp(scores[ki] - maxS)
						z += scores[ki]
					}
					for ki := range tt {
						want := scores[ki] / z
						g := float64(got[((bi*heads+hd)*tt+qi)*tt+ki])
						if math.Abs(g-want) > 1e-4 {
							t.Fatalf("image %d layer %d head %d: attention[%d][%d] = %.6f, naive %.6f", bi, layer, hd, qi, ki, g, want)
						}
						for j := range dh {
							o[qi][hd*dh+j] += want * qkv[ki][2*d+hd*dh+j]
						}
					}
				}
			}
			for i := range tt {
				a := denseHost(blk+"/attention/out", o[i], d, d)
				for k := range d {
					x[i][k] += a[k]
				}
				m := denseHost(blk+"/mlp/fc1", layerNorm(blk+"/norm2", x[i]), d, hidden)
				for k := range m {
					m[k] = 0.5 * m[k] * (1 + math.Erf(m[k]/math.Sqrt2)) // exact GELU
				}
				f := denseHost(blk+"/mlp/fc2", m, hidden, d)
				for k := range d {
					x[i][k] += f[k]
				}
			}
		}
		for i := range tt {
			want := layerNorm("norm", x[i])
			for k := range d {
				if g := float64(tokens[(bi*tt+i)*d+k]); math.Abs(g-want[k]) > 1e-3 {
					t.Fatalf("image %d token %d feature %d = %.5f, naive %.5f", bi, i, k, g, want[k])
				}
			}
		}
	}
}
