package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server process under test.
type proc struct {
	cmd   *exec.Cmd
	Addr  string
	Debug string
}

// startStrongroom builds and starts "strongroom serve" on loopback with the
// data dir and secrets given, and waits for it to listen.
func startStrongroom(bin, dataDir string, env []string) (*proc, error) {
	cmd := serverCommand(bin, "serve")
	cmd.Dir = dataDir
	cmd.Env = append(os.Environ(), env...)
	// The load generators open far more than 64 connections from one
	// loopback address: with the per-address connection cap on, the
	// harness would measure refusals (thousands of 503s), not the server.
	cmd.Env = append(cmd.Env, "STRONGROOM_DATA_DIR="+dataDir, "STRONGROOM_ADDR=127.0.0.1:0", "STRONGROOM_DEBUG_ADDR=127.0.0.1:0",
		"STRONGROOM_MAX_CONNS_PER_ADDR=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd}
	sc := bufio.NewScanner(stderr)
	deadline := time.After(60 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for p.Addr == "" || p.Debug == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				return nil, fmt.Errorf("strongroom exited before it listened")
			}
			var e struct{ Msg, Addr string }
			if json.Unmarshal([]byte(l), &e) == nil {
				switch e.Msg {
				case "strongroom serving":
					p.Addr = e.Addr
				case "debug server (pprof, counters)":
					p.Debug = e.Addr
				}
			}
		case <-deadline:
			p.stop()
			return nil, fmt.Errorf("strongroom did not listen within 60 s")
		}
	}
	go func() { // keep draining the log
		for range lines {
		}
	}()
	return p, nil
}

// makeSchema has the server under test make its data dir (its database
// schema, its keyring) before seed fills it, so that a server built from
// an older commit (-server) finds the schema it knows rather than a newer
// one it refuses: it opens everything, prints the rotation status, and
// exits.
func makeSchema(bin, dataDir string, env []string) error {
	cmd := exec.Command(bin, "rotate-master-key", "-status")
	cmd.Dir = dataDir
	cmd.Env = append(append(os.Environ(), env...), "STRONGROOM_DATA_DIR="+dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s rotate-master-key -status: %v\n%s", bin, err, out)
	}
	return nil
}

// startBaseline runs this program as the bare net/http baseline server.
func startBaseline() (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := serverCommand(self, "-baseline-server")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, err
	}
	return &proc{cmd: cmd, Addr: strings.TrimSpace(line)}, nil
}

// serveBaseline is the baseline: a bare net/http handler answering a small
// JSON document, the floor any HTTP JSON service stands on.
func serveBaseline() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	body := []byte(`{"id":"65a1b2c3d4e5f60718293a4b","data_type":"card_number","value":"1234567812345678"}`)
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// rssMiB reads the process's resident set size from /proc.
func (p *proc) rssMiB() float64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "status"))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// unwraps reads the server's key-manager unwrap counter.
func (p *proc) unwraps() int64 { return p.stats().Service.Unwraps }

// serverStats is what the harness reads of the server's /debug/stats.
type serverStats struct {
	Service      keyStats `json:"service"`
	GroupCommits struct {
		Commits int64 `json:"commits"`
		Records int64 `json:"records"`
	} `json:"group_commits"`
	// Audit counts the audit trail's appends and the events in them (-1
	// from a server that has no trail).
	Audit auditStats `json:"audit"`
	// VaultCalls counts the HTTP requests made to Vault (-1 from a server
	// not on Vault, or too old to say).
	VaultCalls int64 `json:"vault_calls"`
}

// keyStats are the service's counters of data keys.
type keyStats struct {
	// Unwraps counts the data keys the key manager unwrapped.
	Unwraps int64 `json:"keymanager_unwraps"`
	// UnwrapCalls counts the key manager's unwrap calls, fewer than the
	// unwraps once concurrent misses are batched (-1 from a server that
	// does not count them).
	UnwrapCalls int64  `json:"keymanager_unwrap_calls"`
	Hits        uint64 `json:"keycache_hits"`
	Misses      uint64 `json:"keycache_misses"`
	Cached      int64  `json:"keys_cached"`
}

type auditStats struct {
	Appends int64 `json:"appends"`
	Events  int64 `json:"events"`
}

// stats reads the server's counters; -1 where they cannot be read.
func (p *proc) stats() serverStats {
	var s serverStats
	s.Service.Unwraps, s.Service.UnwrapCalls, s.GroupCommits.Commits, s.GroupCommits.Records = -1, -1, -1, -1
	s.Audit.Appends, s.Audit.Events = -1, -1
	s.VaultCalls = -1
	r, err := http.Get("http://" + p.Debug + "/debug/stats")
	if err != nil {
		return s
	}
	defer r.Body.Close()
	_ = json.NewDecoder(r.Body).Decode(&s)
	return s
}

// profile fetches the server's CPU profile and its allocations over most
// of d into dir (if set); the returned func waits for them.
func (p *proc) profile(dir, name string, d time.Duration) func() {
	if dir == "" {
		return func() {}
	}
	secs := max(1, int(d.Seconds())-1)
	var wg sync.WaitGroup
	for kind, file := range map[string]string{"profile": "cpu", "allocs": "allocs"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", p.Debug, kind, secs))
			if err != nil {
				return
			}
			defer r.Body.Close()
			_ = os.MkdirAll(dir, 0o755)
			f, err := os.Create(filepath.Join(dir, file+"-"+name+".pprof"))
			if err != nil {
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, r.Body)
		}()
	}
	return wg.Wait
}

// snapshot is what costs compares before and after a scenario.
type snapshot struct {
	at         time.Time
	cpu        float64 // the server's CPU seconds so far
	audit      auditStats
	keys       keyStats
	vaultCalls int64
}

func (p *proc) snapshot() snapshot {
	st := p.stats()
	return snapshot{at: time.Now(), cpu: cpuSeconds(p.cmd.Process.Pid), audit: st.Audit, keys: st.Service, vaultCalls: st.VaultCalls}
}

// cpuSeconds returns the CPU time (user + system) the process pid has used.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ") ".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

func cpuSecondsOf(pids []int) []float64 {
	s := make([]float64, len(pids))
	for i, pid := range pids {
		s[i] = cpuSeconds(pid)
	}
	return s
}
