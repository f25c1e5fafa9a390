//go:build wasip1

package events

import "unsafe"

// The import of pave_publish_v1. See docs/ABI.md.

//go:wasmimport pave_publish_v1 publish
func hostEventPublish(topicPtr unsafe.Pointer, topicLen int32, dataPtr unsafe.Pointer, dataLen int32) int32

func hostPublish(topic string, data []byte) int32 {
	return hostEventPublish(unsafe.Pointer(unsafe.StringData(topic)), int32(len(topic)),
		unsafe.Pointer(unsafe.SliceData(data)), int32(len(data)))
}
