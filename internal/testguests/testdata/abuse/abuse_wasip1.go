//go:build wasip1

package main

import (
	"net/url"
	"strconv"
	"strings"
	"unsafe"

	"github.com/pave-dev/pave/abi"
)

//go:wasmimport pave_v1 request_size
func requestSize() int32

//go:wasmimport pave_v1 request_read
func requestRead(ptr unsafe.Pointer, n int32) int32

//go:wasmimport pave_v1 response_write
func responseWrite(ptr unsafe.Pointer, n int32) int32

//go:wasmimport pave_v1 log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

// rawWrite passes an arbitrary pointer value to the host.
//
//go:wasmimport pave_v1 response_write
func rawWrite(ptr uint32, n int32) int32

//go:wasmimport pave_v1 request_read
func rawRead(ptr uint32, n int32) int32

func write(b []byte) int32 { return responseWrite(unsafe.Pointer(unsafe.SliceData(b)), int32(len(b))) }

func reply(body string) int32 {
	write(abi.AppendResponse(nil, &abi.Response{Status: 200, Body: []byte(body)}))
	return 0
}

//go:wasmexport handle
func handle() int32 {
	size := requestSize()
	buf := make([]byte, size)
	if requestRead(unsafe.Pointer(unsafe.SliceData(buf)), size) != size {
		return 1
	}
	req, err := abi.DecodeRequest(buf)
	if err != nil {
		return 1
	}
	q, _ := url.ParseQuery(req.RawQuery)
	switch q.Get("mode") {
	case "read-out-of-bounds":
		return reply("rc=" + strconv.Itoa(int(rawRead(0xFFFFFFF0, size))))
	case "read-len-past-end":
		// The request fits in buf, but the length claims memory beyond the
		// end: the range is not inside memory.
		return reply("rc=" + strconv.Itoa(int(rawRead(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), -1))))
	case "log-len-past-end":
		line := "a line whose length runs past the end of memory"
		hostLog(1, unsafe.Pointer(unsafe.StringData(line)), -1)
		return reply("logged")
	case "read-short":
		small := make([]byte, 1)
		return reply("rc=" + strconv.Itoa(int(requestRead(unsafe.Pointer(unsafe.SliceData(small)), 1))))
	case "write-out-of-bounds":
		rc := rawWrite(0xFFFFFFF0, 64)
		return int32(min(rc, 0)) // 0 when the host refused: no response written
	case "write-twice":
		ok := abi.AppendResponse(nil, &abi.Response{Status: 200, Body: []byte("first")})
		write(ok)
		write(ok)
		return 0
	case "malformed":
		write([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
		return 0
	case "header-injection":
		write(abi.AppendResponse(nil, &abi.Response{Status: 200, Headers: []abi.Header{{Name: "X-A", Value: "a\r\nSet-Cookie: stolen=1"}}}))
		return 0
	case "bad-status":
		write(abi.AppendResponse(nil, &abi.Response{Status: 1000}))
		return 0
	case "no-response":
		return 0
	case "log-flood":
		line := strings.Repeat("x", 10000)
		for i := 0; i < 1000; i++ {
			hostLog(1, unsafe.Pointer(unsafe.StringData(line)), int32(len(line)))
		}
		return reply("flooded")
	}
	return reply("ok")
}
