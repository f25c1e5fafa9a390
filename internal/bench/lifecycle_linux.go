package bench

import (
	"os"
	"syscall"
)

// allocated is the memory a file holds, from its block count.
func allocated(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return 0
}
