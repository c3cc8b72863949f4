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
// lower half of the CPUs and pins the servers it starts to the upper half;
// with four CPUs or more the login flood gets CPUs of its own as well.
const (
	serverCPUsEnv = "STRONGROOM_BENCH_SERVER_CPUS"
	floodCPUsEnv  = "STRONGROOM_BENCH_FLOOD_CPUS"
)

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
	readers, flood, srv := splitCPUs(n)
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", readers, self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), serverCPUsEnv+"="+srv, floodCPUsEnv+"="+flood)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return true, err
	}
	return true, nil
}

// splitCPUs gives the servers the upper half of n CPUs and the load
// generators the lower half; with four CPUs or more the login flood gets
// the upper half of the generators' share, so the readers' own latency is
// not measured on a CPU the flood saturates.
func splitCPUs(n int) (readers, flood, servers string) {
	gen := n / 2
	servers = cpuRange(gen, n)
	if gen < 2 {
		all := cpuRange(0, gen)
		return all, all, servers
	}
	return cpuRange(0, gen/2), cpuRange(gen/2, gen), servers
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

// floodCommand runs name with args, pinned to the flood's CPUs under -isolate.
func floodCommand(name string, args ...string) *exec.Cmd {
	if cpus := os.Getenv(floodCPUsEnv); cpus != "" {
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
