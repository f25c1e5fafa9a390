//go:build linux

package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sealedImage is a snapshot's memory image in a sealed memfd. Instances map
// it privately: a page an invocation only reads stays the file's page,
// shared by every instance of the snapshot, and a page it writes becomes a
// private copy, which the kernel reports through the page map (see
// pageTracker). The seals make the file immutable, so a page still mapped
// from it holds exactly the image.
type sealedImage struct {
	fd    int
	bytes []byte // a read-only shared mapping of the whole file
}

// sealImage copies image into a new sealed memfd. Pages of zeros are left
// as holes, which read as zeros and take no memory until read.
func sealImage(image []byte) (*sealedImage, error) {
	ps := os.Getpagesize()
	if len(image) == 0 || len(image)%ps != 0 {
		return nil, fmt.Errorf("image of %d bytes is not whole pages", len(image))
	}
	fd, err := unix.MemfdCreate("pave-snapshot", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	fail := func(what string, err error) (*sealedImage, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.Ftruncate(fd, int64(len(image))); err != nil {
		return fail("ftruncate", err)
	}
	zero := make([]byte, ps)
	for off := 0; off < len(image); off += ps {
		page := image[off : off+ps]
		if bytes.Equal(page, zero) {
			continue
		}
		if _, err := unix.Pwrite(fd, page, int64(off)); err != nil {
			return fail("pwrite", err)
		}
	}
	// Sealed before any mapping exists, so no mapping can ever be made
	// writable through to the file.
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return fail("seal", err)
	}
	b, err := unix.Mmap(fd, 0, len(image), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	return &sealedImage{fd: fd, bytes: b}, nil
}

// release unmaps and closes the image. Instances mapped from it keep their
// own mappings, which outlive the descriptor.
func (s *sealedImage) release() {
	_ = unix.Munmap(s.bytes)
	_ = unix.Close(s.fd)
}

// mapInstance reserves size bytes of address space for one instance's
// linear memory (rounded up to whole pages) and maps the image privately
// at its start; the rest reads as zeros.
func (s *sealedImage) mapInstance(size uint64) ([]byte, error) {
	ps := uint64(os.Getpagesize())
	size = max(size, uint64(len(s.bytes)))
	size = (size + ps - 1) / ps * ps
	if size > uint64(^uint(0)>>1) {
		return nil, fmt.Errorf("memory of %d bytes does not fit the address space", size)
	}
	region, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserve memory: %w", err)
	}
	if _, err := unix.MmapPtr(s.fd, 0, unsafe.Pointer(&region[0]), uintptr(len(s.bytes)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
		_ = unix.Munmap(region)
		return nil, fmt.Errorf("map image: %w", err)
	}
	return region, nil
}

// unmapInstance releases a region from mapInstance.
func unmapInstance(region []byte) { _ = unix.Munmap(region) }

// pageTracker reads which pages of an instance's memory may differ from
// the image, from /proc/self/pagemap: a page that is still the image file's
// (or was never touched) holds the image, and any other page is compared.
// Reading the page map costs one system call for the whole memory instead
// of a comparison of every page.
type pageTracker struct {
	fd       int
	pageSize int
}

// The page map entry bits pave reads (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
	pmFile    = 1 << 61 // a page of a file, or shared anonymous memory
)

// processPageTracker is the process's one page tracker, opened on first use
// and never closed (closing it could let a restore read another file that
// reused its descriptor); nil when the page map is unusable.
var processPageTracker = sync.OnceValue(openPageTracker)

// openPageTracker opens the page map and checks that it reports what
// restore relies on. It returns nil when it does not (no /proc, an
// emulated page map), and restore then compares every page.
func openPageTracker() *pageTracker {
	fd, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	t := &pageTracker{fd: fd, pageSize: os.Getpagesize()}
	if err := t.selfTest(); err != nil {
		unix.Close(fd)
		return nil
	}
	return t
}

// selfTest maps a three-page image, reads one page, writes another and
// leaves the last alone: the page map must call the first and last
// untouched and the second changed.
func (t *pageTracker) selfTest() error {
	image := bytes.Repeat([]byte{0xa5}, 3*t.pageSize)
	img, err := sealImage(image)
	if err != nil {
		return err
	}
	defer img.release()
	region, err := img.mapInstance(uint64(len(image)))
	if err != nil {
		return err
	}
	defer unmapInstance(region)
	if region[0] != 0xa5 {
		return errors.New("private mapping does not show the image")
	}
	region[t.pageSize] = 0x5a
	entries, err := t.read(region, nil)
	if err != nil {
		return err
	}
	if !pristine(entry(entries, 0)) || pristine(entry(entries, 1)) || !pristine(entry(entries, 2)) {
		return errors.New("page map does not tell written pages from the image's")
	}
	if img.bytes[t.pageSize] != 0xa5 {
		return errors.New("a private write reached the image")
	}
	return nil
}

// read returns the page map entries of mem, 8 bytes per page, in scratch
// when it is large enough.
func (t *pageTracker) read(mem, scratch []byte) ([]byte, error) {
	n := len(mem) / t.pageSize * 8
	if cap(scratch) < n {
		scratch = make([]byte, n)
	}
	scratch = scratch[:n]
	off := int64(uintptr(unsafe.Pointer(unsafe.SliceData(mem))) / uintptr(t.pageSize) * 8)
	for done := 0; done < n; {
		k, err := unix.Pread(t.fd, scratch[done:], off+int64(done))
		if err != nil {
			return nil, fmt.Errorf("read page map: %w", err)
		}
		if k == 0 {
			return nil, errors.New("read page map: short read")
		}
		done += k
	}
	return scratch, nil
}

// entry is the i-th page map entry of entries.
func entry(entries []byte, i int) uint64 { return binary.NativeEndian.Uint64(entries[i*8:]) }

// pristine reports whether a private mapping's page with this entry still
// holds the file's contents: it is mapped from the file, or it was never
// touched (not present and not swapped out). A page that was ever written
// is an anonymous copy, present or swapped, and is not pristine.
func pristine(e uint64) bool {
	present, swapped, file := e&pmPresent != 0, e&pmSwapped != 0, e&pmFile != 0
	return (present && file) || (!present && !swapped)
}
