package models

import (
	"fmt"
	"regexp"
	"strconv"
)

var resNetName = regexp.MustCompile(`^resnet(18|34|50)(?:-w(\d+))?(?:-(small|standard))?$`)

// ParseEncoder returns the encoder an Encoder.Name() describes, so that a checkpoint that
// records only the name (ssl.EncoderCheckpoint) can be rebuilt: "resnet18", "resnet50",
// "resnet18-w16" (base width 16), "resnet18-w16-small" (its stem fixed to SmallImageStem;
// without a stem suffix it is chosen from the image size when the encoder is built), and
// the ViT names of ViTConfig.Name ("vit-tiny/4", "vit-small/16", ...).
func ParseEncoder(name string) (Encoder, error) {
	if m := resNetName.FindStringSubmatch(name); m != nil {
		depth, _ := strconv.Atoi(m[1])
		cfg := ResNetConfig{Depth: depth}
		if m[2] != "" {
			w, err := strconv.Atoi(m[2])
			if err != nil || w <= 0 {
				return nil, fmt.Errorf("models: bad width in encoder name %q", name)
			}
			cfg = cfg.Width(w)
		}
		switch m[3] {
		case "small":
			cfg.Stem = SmallImageStem
		case "standard":
			cfg.Stem = StandardStem
		}
		return cfg, cfg.Validate()
	}
	if enc, ok, err := parseViTName(name); ok {
		return enc, err
	}
	return nil, fmt.Errorf("models: unknown encoder name %q (want resnet18|34|50[-w<width>][-small|-standard] or vit-tiny|vit-small/<patch>)", name)
}
