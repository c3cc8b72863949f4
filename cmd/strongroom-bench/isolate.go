package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// With -isolate the load generator and the servers run on separate CPUs
// (taskset), so the load, including a flood of logins, does not take its
// own CPU from the server under test: on a real deployment the clients'
// CPU is not the server's. The harness re-executes itself pinned to the
// lower half of the CPUs and pins the servers it starts to the upper half.
const serverCPUsEnv = "STRONGROOM_BENCH_SERVER_CPUS"

// isolate re-executes the harness pinned, and reports whether it did (the
// caller then exits with the child's status).
func isolate() (bool, error) {
	if os.Getenv(serverCPUsEnv) != "" {
		return false, nil // already the pinned child
	}
	n := runtime.NumCPU()
	if n < 2 {
		return false, fmt.Errorf("-isolate needs at least 2 CPUs")
	}
	gen, srv := cpuRange(0, n/2), cpuRange(n/2, n)
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", gen, self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), serverCPUsEnv+"="+srv)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return true, err
	}
	return true, nil
}

func cpuRange(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, i)
	}
	return b.String()
}

// serverCommand runs name with args, pinned to the server CPUs under -isolate.
func serverCommand(name string, args ...string) *exec.Cmd {
	if cpus := os.Getenv(serverCPUsEnv); cpus != "" {
		return exec.Command("taskset", append([]string{"-c", cpus, name}, args...)...)
	}
	return exec.Command(name, args...)
}

// serverCores is how many CPUs the server under test has.
func serverCores() int {
	if cpus := os.Getenv(serverCPUsEnv); cpus != "" {
		return len(strings.Split(cpus, ","))
	}
	return runtime.NumCPU()
}
