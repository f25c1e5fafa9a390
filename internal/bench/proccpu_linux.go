package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// clockTick is the unit of the processor times in /proc/PID/stat: the
// kernel's USER_HZ, 100 on every architecture Go supports on Linux.
const clockTick = 10 * time.Millisecond

// processCPU is the processor time, user and system, that the process
// pid has used so far, from /proc/PID/stat (in steps of 10 ms).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat reads utime and stime, the 14th and 15th fields, from the
// contents of /proc/PID/stat. The second field, the command's name in
// parentheses, may hold spaces and parentheses itself: the fields are
// counted from the last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat %q", clip(b))
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc stat %q", clip(b))
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15, the 3rd being f[0]
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed /proc stat %q", clip(b))
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// dieWithParent has the child cmd starts sent SIGTERM when this process
// ends, even by SIGKILL, so that no server outlives a run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
