package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// The login flood runs in a process of its own, as an attacker's clients
// would: sharing the readers' Go runtime would put the 100 flooding
// goroutines in the readers' run queue and count the generator's own
// scheduling delays as the server's latency.

// startHammer starts `strongroom-bench -hammer` against path on addr for d:
// clients goroutines, logging in as one of the first users bench users if
// path is /login, else getting path.
func startHammer(addr, path string, clients, users int, d time.Duration) (*exec.Cmd, *json.Decoder, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := floodCommand(self, "-hammer", addr, path, strconv.Itoa(clients), strconv.Itoa(users), d.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return cmd, json.NewDecoder(out), nil
}

// hammer is the flood process: it prints its result as JSON.
func hammer(args []string) error {
	if len(args) != 5 {
		return fmt.Errorf("usage: -hammer ADDR PATH CLIENTS USERS DURATION")
	}
	addr, path := args[0], args[1]
	clients, err1 := strconv.Atoi(args[2])
	users, err2 := strconv.Atoi(args[3])
	d, err3 := time.ParseDuration(args[4])
	if err1 != nil || err2 != nil || err3 != nil || clients < 1 || users < 1 {
		return fmt.Errorf("-hammer: bad arguments %q", args)
	}
	url := "http://" + addr + path
	mk := func(int, int) (*http.Request, error) { return jsonRequest("GET", url, "", nil) }
	if path == "/login" {
		mk = func(int, int) (*http.Request, error) {
			return jsonRequest("POST", url, "", loginBody(fmt.Sprintf("bench%06d", rnd(users))))
		}
	}
	r := run(context.Background(), fmt.Sprintf("%s hammer (%d clients)", path, clients), newClient(clients), clients, d, mk, status2xx)
	return json.NewEncoder(os.Stdout).Encode(r)
}
