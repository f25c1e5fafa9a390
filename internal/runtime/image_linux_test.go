//go:build linux

package runtime

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPristine(t *testing.T) {
	for _, c := range []struct {
		name  string
		entry uint64
		want  bool
	}{
		{"never touched", 0, true},
		{"the image file's page", pmPresent | pmFile | 12345, true},
		{"a private copy", pmPresent | 12345, false},
		{"a private copy swapped out", pmSwapped | 7, false},
		{"swapped with the file bit", pmSwapped | pmFile, false},
	} {
		if got := pristine(c.entry); got != c.want {
			t.Errorf("%s (%#x): pristine %v, want %v", c.name, c.entry, got, c.want)
		}
	}
}

func TestSealedImageRefusesWrites(t *testing.T) {
	ps := os.Getpagesize()
	image := make([]byte, 2*ps)
	image[ps] = 7
	img, err := sealImage(image)
	if err != nil {
		t.Fatal(err)
	}
	defer img.release()
	if img.bytes[ps] != 7 || img.bytes[0] != 0 {
		t.Fatal("the sealed image does not hold the image")
	}
	// The seals are what makes a page mapped from the file trustworthy:
	// neither a write nor a writable shared mapping may get through.
	if _, err := unix.Pwrite(img.fd, []byte{1}, 0); err == nil {
		t.Fatal("a write to the sealed file succeeded")
	}
	if b, err := unix.Mmap(img.fd, 0, len(image), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
		_ = unix.Munmap(b)
		t.Fatal("a writable shared mapping of the sealed file succeeded")
	}
	if _, err := sealImage(make([]byte, ps+1)); err == nil {
		t.Fatal("an image of part of a page was sealed")
	}
}
