package folder

import (
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/medssl/medssl/internal/testutil/foldertest"
)

// hugePNG returns a valid PNG whose header claims width x height pixels (with a
// correct CRC): the decoder would allocate for that size if the limit were not checked
// first.
func hugePNG(t testing.TB, width, height uint32) []byte {
	b := foldertest.Encode(t, image.NewGray(image.Rect(0, 0, 4, 4)), "png")
	b = append([]byte(nil), b...)
	binary.BigEndian.PutUint32(b[16:], width)
	binary.BigEndian.PutUint32(b[20:], height)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// FuzzDecode feeds arbitrary bytes to the image decoding path that Load and Decode (and
// so data/stream) share: header check, decode, gray/RGB conversion, 16-bit mapping,
// resize. It must return exactly H*W*C bytes or an error naming the file, never panic;
// allocation is bounded because the header's size is checked against the pixel limit
// (here 2^16) before decoding, and decode time with it.
//
//	go test ./data/folder -run '^$' -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	s := foldertest.Split(f, 2)
	gray := foldertest.Gray(s, 0)
	g16 := image.NewGray16(image.Rect(0, 0, 5, 3))
	for i := range g16.Pix {
		g16.Pix[i] = uint8(i * 37)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 6, 6), color.Palette{color.Black, color.RGBA{200, 10, 30, 255}})
	pal.Pix[7] = 1
	png := foldertest.Encode(f, gray, "png")
	f.Add(png)
	f.Add(png[:len(png)/2])
	f.Add(foldertest.Encode(f, g16, "png"))
	f.Add(foldertest.Encode(f, colour(s, 1), "png"))
	f.Add(foldertest.Encode(f, pal, "png"))
	f.Add(foldertest.Encode(f, gray, "jpeg"))
	f.Add(foldertest.Encode(f, colour(s, 1), "jpeg"))
	f.Add(hugePNG(f, 1<<20, 1<<20))
	f.Add(hugePNG(f, 0, 7))
	f.Add([]byte("GIF89a\x01\x00\x01\x00"))
	f.Add([]byte("\xff\xd8\xff"))
	cfgs := make([]config, 0, 3)
	for _, opts := range [][]Option{
		{MaxPixels(1 << 16)},
		{MaxPixels(1 << 16), RGB()},
		{MaxPixels(1 << 16), Range16Bit(100, 9000)},
	} {
		c, err := newConfig(opts)
		if err != nil {
			f.Fatal(err)
		}
		cfgs = append(cfgs, c)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range cfgs {
			pix, err := c.decode(b, "fuzz.png", 8, 6)
			if err != nil {
				if pix != nil || !strings.HasPrefix(err.Error(), "folder: fuzz.png: ") {
					t.Fatalf("error %q (with %d bytes)", err, len(pix))
				}
				continue
			}
			if len(pix) != 8*6*c.channels {
				t.Fatalf("%d bytes, want %d", len(pix), 8*6*c.channels)
			}
		}
	})
}

// FuzzParseCSV checks that any labels CSV gives items with labels in range of the
// classes, or an error naming the file; never a panic.
func FuzzParseCSV(f *testing.F) {
	f.Add("file,label,patient\na.png,malignant,P1\nb.png,benign,P1\n")
	f.Add("a.png,0\nb.jpg,3\n")
	f.Add("Path,Class\n\"a,b.png\",x\n")
	f.Add("a.png,\"unterminated\n")
	f.Fuzz(func(t *testing.T, text string) {
		items, classes, err := parseCSV(strings.NewReader(text), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "folder: fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, it := range items {
			if it.Label < 0 || it.Label >= len(classes) {
				t.Fatalf("item %+v outside %d classes", it, len(classes))
			}
		}
	})
}

// FuzzParseMultiLabelCSV checks that any multi-label CSV gives items with one 0/1 label
// per class, or an error naming the file; never a panic.
func FuzzParseMultiLabelCSV(f *testing.F) {
	f.Add("file,patient,age,a,b\nx.png,1,57,0,1\ny.png,2,3,1,1\n")
	f.Add("image,a,b,c\nx.png,0,2,1\n")
	f.Add("\ufefffile,a,b\n\"x,1.png\",1,0\n")
	f.Fuzz(func(t *testing.T, text string) {
		items, classes, err := parseMultiLabelCSV(strings.NewReader(text), "fuzz.csv", nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "folder: fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, it := range items {
			if len(it.Labels) != len(classes) || len(classes) < 2 {
				t.Fatalf("item %+v with %d classes", it, len(classes))
			}
			for _, v := range it.Labels {
				if v != 0 && v != 1 {
					t.Fatalf("item %+v: label %d", it, v)
				}
			}
		}
	})
}
