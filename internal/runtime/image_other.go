//go:build !linux

package runtime

import "errors"

// Without memfd and a page map, snapshot images stay on the Go heap and
// restore compares every page.

type sealedImage struct{ bytes []byte }

var errNoSealedImages = errors.New("sealed images need Linux")

func sealImage([]byte) (*sealedImage, error)              { return nil, errNoSealedImages }
func (s *sealedImage) release()                           {}
func (s *sealedImage) mapInstance(uint64) ([]byte, error) { return nil, errNoSealedImages }
func unmapInstance([]byte)                                {}

type pageTracker struct{ pageSize int }

func processPageTracker() *pageTracker                  { return nil }
func (t *pageTracker) read(_, _ []byte) ([]byte, error) { return nil, errNoSealedImages }
func entry([]byte, int) uint64                          { return 0 }
func pristine(uint64) bool                              { return false }
