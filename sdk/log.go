package pave

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pave-dev/pave/abi"
)

// Level is the severity of a log line.
type Level int

// Log levels, as numbered by the ABI.
const (
	LevelDebug Level = abi.LogDebug
	LevelInfo  Level = abi.LogInfo
	LevelWarn  Level = abi.LogWarn
	LevelError Level = abi.LogError
)

// String returns the level's name in lower case.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// maxLogLine is the longest message Log passes on, in bytes. The host may
// cut lines shorter still, and drops lines past its per-invocation limit.
const maxLogLine = 64 << 10

// Log writes msg to the function's log as one line. A level below
// LevelDebug is logged as LevelDebug, and one above LevelError as
// LevelError. A trailing newline is dropped, and a message longer than
// 64 KiB is cut short.
func Log(level Level, msg string) {
	level = min(max(level, LevelDebug), LevelError)
	msg = strings.TrimSuffix(msg, "\n")
	if len(msg) > maxLogLine {
		n := maxLogLine
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		msg = msg[:n]
	}
	writeLog(level, msg)
}

// Debugf logs a message formatted as by fmt.Sprintf at LevelDebug.
func Debugf(format string, args ...any) { Log(LevelDebug, fmt.Sprintf(format, args...)) }

// Infof logs a message formatted as by fmt.Sprintf at LevelInfo.
func Infof(format string, args ...any) { Log(LevelInfo, fmt.Sprintf(format, args...)) }

// Warnf logs a message formatted as by fmt.Sprintf at LevelWarn.
func Warnf(format string, args ...any) { Log(LevelWarn, fmt.Sprintf(format, args...)) }

// Errorf logs a message formatted as by fmt.Sprintf at LevelError.
func Errorf(format string, args ...any) { Log(LevelError, fmt.Sprintf(format, args...)) }
