package ssl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/medssl/medssl/models"
)

// EncoderCheckpoint is an encoder's weights saved on their own: the variables under
// models.EncoderScope (batch-norm statistics included) and the names of the encoder and
// of the method that trained it. Method heads, momentum targets, queues and optimiser
// state are not in it, so every method's checkpoint has the same form, and fine-tuning
// (supervised.Config.Pretrained) and every evaluation protocol load it by name.
type EncoderCheckpoint struct {
	// Store holds the encoder's variables under "/encoder".
	Store *model.Store
	// Encoder is the architecture's name (models.Encoder.Name()), Method the pretext
	// method's; both as recorded when saving.
	Encoder, Method string
}

// SaveEncoder writes the encoder part of a pretraining run to dir (created if needed) in
// GoMLX's checkpoint format. An existing checkpoint in dir is replaced; a directory holding
// other files is refused.
func (p *Pretrained) SaveEncoder(dir string) error {
	return SaveEncoder(dir, p.Store, p.Encoder.Name(), p.Method)
}

// SaveEncoder writes the variables under models.EncoderScope of store to dir, recording
// the encoder's and method's names.
func SaveEncoder(dir string, store *model.Store, encoderName, methodName string) (err error) {
	if dir == "" {
		return errors.New("ssl: SaveEncoder: empty directory")
	}
	out := model.NewStore()
	if err := copyEncoder(store, out); err != nil {
		return fmt.Errorf("ssl: SaveEncoder: %w", err)
	}
	out.SetParam(ParamEncoder, encoderName)
	out.SetParam(ParamMethod, methodName)
	// Replace, not merge with, an earlier checkpoint in dir; refuse a directory holding
	// anything else rather than delete the user's files.
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("ssl: SaveEncoder: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "checkpoint-") || e.IsDir() {
			return fmt.Errorf("ssl: SaveEncoder: %s holds %q, which is not a checkpoint file: choose an empty or new directory", dir, e.Name())
		}
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("ssl: SaveEncoder: clearing %s: %w", dir, err)
		}
	}
	h, err := checkpoint.Build(out).Dir(dir).Keep(1).Done()
	if err != nil {
		return fmt.Errorf("ssl: SaveEncoder %s: %w", dir, err)
	}
	if err := h.Save(); err != nil {
		return fmt.Errorf("ssl: SaveEncoder %s: %w", dir, err)
	}
	return nil
}

// LoadEncoder reads an encoder checkpoint written by SaveEncoder (or any GoMLX checkpoint
// whose encoder lives under models.EncoderScope, such as a Pretrain checkpoint directory:
// only the encoder's variables are kept).
func LoadEncoder(dir string) (ck *EncoderCheckpoint, err error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("ssl: LoadEncoder: %w", err)
	}
	store := model.NewStore()
	h, err := checkpoint.Load(store).Dir(dir).Immediate().Done()
	if err != nil {
		return nil, fmt.Errorf("ssl: LoadEncoder %s: %w", dir, err)
	}
	if ok, err := h.HasCheckpoints(); err != nil || !ok {
		return nil, fmt.Errorf("ssl: LoadEncoder: no checkpoint in %s", dir)
	}
	ck = &EncoderCheckpoint{Store: model.NewStore()}
	if v, ok := store.GetParam("/" + ParamEncoder); ok {
		ck.Encoder = fmt.Sprint(v)
	}
	if v, ok := store.GetParam("/" + ParamMethod); ok {
		ck.Method = fmt.Sprint(v)
	}
	if err := copyEncoder(store, ck.Store); err != nil {
		return nil, fmt.Errorf("ssl: LoadEncoder %s: %w", dir, err)
	}
	return ck, nil
}

// copyEncoder copies the variables under models.EncoderScope from one store to another
// (which must not have them yet).
func copyEncoder(from, to *model.Store) error {
	prefix := "/" + models.EncoderScope
	n := 0
	for v := range from.IterVariables() {
		if v.Scope() != prefix && !strings.HasPrefix(v.Scope(), prefix+"/") {
			continue
		}
		val, err := v.Value()
		if err != nil {
			return fmt.Errorf("reading %s: %w", v.Path(), err)
		}
		clone, err := val.Clone()
		if err != nil {
			return err
		}
		if _, err := to.Scope(v.Scope()).CreateVariable(v.Name(), clone); err != nil {
			return fmt.Errorf("copying %s: %w", v.Path(), err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no variables under %q", prefix)
	}
	return nil
}
