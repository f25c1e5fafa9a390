// Command sandbox is a test guest that reports as JSON what the sandbox
// exposes to a function: arguments, environment, files, working directory,
// randomness and the clock.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	pave "github.com/pave-dev/pave/sdk"
)

// report is the response body. Error fields are "" when the call succeeded.
type report struct {
	Args         []string  `json:"args"`
	Env          []string  `json:"env"`
	ReadFileErr  string    `json:"read_file_err"`
	ReadDirErr   string    `json:"read_dir_err"`
	ReadDirCount int       `json:"read_dir_count"`
	Wd           string    `json:"wd"`
	WdErr        string    `json:"wd_err"`
	Random       string    `json:"random"`
	RandomErr    string    `json:"random_err"`
	Time         time.Time `json:"time"`
	// Headers are the request headers the function received.
	Headers map[string][]string `json:"headers"`
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func init() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		rep := report{Args: os.Args, Env: os.Environ(), Time: time.Now().UTC(), Headers: map[string][]string{}}
		for _, h := range r.Header {
			rep.Headers[h.Name] = append(rep.Headers[h.Name], h.Value)
		}
		if rep.Args == nil {
			rep.Args = []string{}
		}
		if rep.Env == nil {
			rep.Env = []string{}
		}
		_, err := os.ReadFile("/etc/passwd")
		rep.ReadFileErr = errString(err)
		entries, err := os.ReadDir("/")
		rep.ReadDirErr, rep.ReadDirCount = errString(err), len(entries)
		wd, err := os.Getwd()
		rep.Wd, rep.WdErr = wd, errString(err)
		var b [16]byte
		_, err = rand.Read(b[:])
		rep.Random, rep.RandomErr = hex.EncodeToString(b[:]), errString(err)
		return pave.JSON(200, rep), nil
	})
}

func main() {}
