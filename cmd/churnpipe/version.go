package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func init() {
	extraCommands = append(extraCommands,
		command{"version", "print churnpipe's version, its VCS revision and the Go version it was built with", runVersion})
}

// runVersion prints the module version (or "(devel)"), the VCS revision and
// time when the binary was built from a checkout, and the Go version.
func runVersion(_ context.Context, args []string, stdout io.Writer) error {
	fs, _ := newFlags("version", "version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v, rev, at := "(devel)", "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "churnpipe %s", v)
	if rev != "" {
		fmt.Fprintf(stdout, " (%s %s)", rev, at)
	}
	fmt.Fprintf(stdout, " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
