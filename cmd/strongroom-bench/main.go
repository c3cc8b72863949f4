// Command strongroom-bench measures Strongroom where users feel it and
// where attackers push. It builds and starts the real server on loopback
// with a temp data dir, seeds users and records, drives load over
// keep-alive HTTP from a Go load generator, and compares every scenario
// with a bare net/http baseline served and loaded the same way in the same
// run. It prints a table and writes a JSON report.
//
//	go run ./cmd/strongroom-bench              # full run (5 s per scenario, 100 000 users rotated)
//	go run ./cmd/strongroom-bench -short       # smoke run for CI, a second per scenario
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type options struct {
	duration      time.Duration
	concurrency   int
	scenarios     string
	users         int
	records       int
	rotationUsers int
	out           string
	short         bool
	profile       string
	isolate       bool
	server        string // a strongroom binary to measure instead of building ./cmd/strongroom
	access        string // uniform or zipf: which users the read and list scenarios pick
	kms           string // local or vault: the main server's key manager
}

// report is the JSON file.
type report struct {
	Time     time.Time         `json:"time"`
	Machine  string            `json:"machine"`
	Options  map[string]any    `json:"options"`
	Results  []result          `json:"results"`
	Measured map[string]any    `json:"measured"`
	Targets  map[string]string `json:"targets"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-baseline-server" {
		if err := serveBaseline(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "-hammer" {
		if err := hammer(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "time per scenario")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent clients")
	flag.StringVar(&o.scenarios, "scenario", "all", "comma-separated: read,list,create,login,login-load,revocation,rotation,rotation-vault (with -short, only when named), and transit and restart (only when named); baseline always runs")
	flag.IntVar(&o.users, "users", 1000, "users for the read, list and create scenarios (a million work)")
	flag.StringVar(&o.access, "access", "uniform", "which user each read and list is for: uniform, or zipf (s = 1.1: a few users are hot)")
	flag.StringVar(&o.kms, "kms", "local", "the key manager of the main server: local (keyring file), or vault (a Vault dev server of the harness's own)")
	flag.IntVar(&o.records, "records", 10, "records per user")
	flag.IntVar(&o.rotationUsers, "rotation-users", 100_000, "users whose data keys the rotation scenario rewraps")
	flag.StringVar(&o.out, "out", "bench-results.json", "where to write the JSON report")
	flag.StringVar(&o.profile, "profile", "", "write the server's CPU profile of each profiled scenario into this directory")
	flag.BoolVar(&o.isolate, "isolate", false, "run the load generator and the servers on separate halves of the CPUs (taskset)")
	flag.BoolVar(&o.short, "short", false, "a smoke run: 1 s per scenario, 200 users, 2 000 rotated")
	flag.StringVar(&o.server, "server", "", "measure this strongroom binary (built from another commit, say) instead of building ./cmd/strongroom")
	flag.Parse()
	if o.short {
		o.duration, o.users, o.rotationUsers = time.Second, 200, 2000
	}
	if o.kms != "local" && o.kms != "vault" {
		fmt.Fprintf(os.Stderr, "strongroom-bench: -kms %q: want local or vault\n", o.kms)
		os.Exit(2)
	}
	if o.isolate {
		done, err := isolate()
		if err != nil {
			fmt.Fprintln(os.Stderr, "strongroom-bench:", err)
			os.Exit(1)
		}
		if done {
			return
		}
	}
	if err := bench(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "strongroom-bench:", err)
		os.Exit(1)
	}
}

func want(o options, name string) bool {
	return o.scenarios == "all" || named(o, name)
}

// named reports whether -scenario names name: a scenario that "all" leaves
// out runs only then.
func named(o options, name string) bool {
	return strings.Contains(","+o.scenarios+",", ","+name+",")
}

func bench(ctx context.Context, o options) error {
	work, err := os.MkdirTemp("", "strongroom-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "strongroom")
	if o.server != "" {
		if bin, err = filepath.Abs(o.server); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(os.Stderr, "building the server...")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/strongroom").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	rep := &report{Time: time.Now().UTC(), Machine: machine(), Measured: map[string]any{}, Targets: map[string]string{},
		Options: map[string]any{"duration": o.duration.String(), "concurrency": o.concurrency, "users": o.users, "records": o.records,
			"rotation_users": o.rotationUsers, "short": o.short, "isolate": o.isolate, "server": o.server,
			"access": o.access, "zipf": fmt.Sprintf("math/rand/v2 Zipf s=%g v=%d", zipfS, zipfV), "kms": o.kms,
			"max_records_per_user": maxRecordsPerUser}}
	pick, err := newPicker(o.access, o.users)
	if err != nil {
		return err
	}

	dataDir := filepath.Join(work, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	fsyncs := fsyncRate(dataDir, time.Second)
	hashTime := bcryptTime()
	rep.Measured["fsyncs_per_s"] = round(fsyncs)
	rep.Measured["bcrypt12_ms"] = round(hashTime.Seconds() * 1000)
	rep.Measured["bcrypt_limit_per_s"] = round(float64(serverCores()) / hashTime.Seconds())
	rep.Measured["server_cores"] = serverCores()
	fmt.Fprintf(os.Stderr, "disk: %.0f fsyncs/s; bcrypt cost 12: %.0f ms per hash, limit %.1f/s on the server's %d cores\n",
		fsyncs, hashTime.Seconds()*1000, float64(serverCores())/hashTime.Seconds(), serverCores())

	base, err := startBaseline()
	if err != nil {
		return err
	}
	bclient := newClient(o.concurrency)
	baseline := run(ctx, "baseline (bare net/http)", bclient, o.concurrency, o.duration,
		func(int, int) (*http.Request, error) { return jsonRequest("GET", "http://"+base.Addr+"/", "", nil) }, status2xx)
	base.stop()
	baseline.Ratio = 1
	rep.Results = append(rep.Results, baseline)

	env := []string{"JWT_SECRET=" + benchJWTSecret, "PEPPER=" + benchPepper}
	mainEnv, wrap, stopKMS, err := keyManager(ctx, o)
	if err != nil {
		return err
	}
	defer stopKMS()
	mainEnv = append(append(mainEnv, env...), "STRONGROOM_MAX_RECORDS_PER_USER="+strconv.Itoa(maxRecordsPerUser))
	users, err := seedMain(ctx, rep, bin, dataDir, mainEnv, wrap)
	if err != nil {
		return err
	}
	srv, err := startStrongroom(bin, dataDir, mainEnv)
	if err != nil {
		return err
	}
	sc := &scenarios{o: o, srv: srv, users: users, pick: pick, client: newClient(o.concurrency), baseline: baseline, fsyncs: fsyncs,
		hashTime: hashTime, rep: rep, bin: bin, env: mainEnv}
	defer func() { sc.srv.stop() }() // the restart scenario replaces it
	time.Sleep(500 * time.Millisecond)
	rep.Measured["rss_idle_mib"] = round(srv.rssMiB())
	sc.runAll(ctx, bin, work, env)
	rep.Measured["rss_end_mib"] = round(sc.srv.rssMiB())

	printTable(rep)
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(o.out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "report written to", o.out)
	return nil
}

// maxRecordsPerUser is the main server's STRONGROOM_MAX_RECORDS_PER_USER.
// The same number bounds the values one account may read (twice it at
// once, then that many a minute): at the default, 10 000, a user that a
// Zipf law makes hot would be refused 429 after a few seconds, and the
// harness would measure the refusals.
const maxRecordsPerUser = 100_000_000

// keyManager starts what -kms names for the main server: the environment
// that points the server at it, the wrapFunc that seeds its users' data
// keys (nil for the data dir's keyring, which the server under test makes
// first), and what stops it.
func keyManager(ctx context.Context, o options) ([]string, wrapFunc, func(), error) {
	if o.kms == "local" {
		return nil, nil, func() {}, nil
	}
	fmt.Fprintln(os.Stderr, "starting a Vault dev server...")
	v, err := startBenchVault(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return v.env(), v.wrap, v.stop, nil
}

// seedMain makes the main server's data dir and seeds it, its data keys
// wrapped by wrap or, if nil, by the data dir's keyring, noting how long
// that took and how big the database is.
func seedMain(ctx context.Context, rep *report, bin, dataDir string, env []string, wrap wrapFunc) (*population, error) {
	o := rep.Options
	fmt.Fprintf(os.Stderr, "seeding %d users x %d records...\n", o["users"], o["records"])
	if err := makeSchema(bin, dataDir, env); err != nil {
		return nil, err
	}
	if wrap == nil {
		var err error
		if wrap, err = localWrap(dataDir); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	users, err := seedWith(ctx, dataDir, o["users"].(int), o["records"].(int), wrap)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	took := time.Since(start).Seconds()
	rep.Measured["seed_seconds"] = round(took)
	rep.Measured["seed_users_per_s"] = round(float64(users.len()) / took)
	rep.Measured["seed_db_mib"] = round(float64(dirBytes(dataDir)) / (1 << 20))
	fmt.Fprintf(os.Stderr, "seeded in %.1f s (%.0f users/s); the data dir holds %.0f MiB\n", took, float64(users.len())/took, float64(dirBytes(dataDir))/(1<<20))
	return users, nil
}

// dirBytes is the size of the files in dir.
func dirBytes(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

func printTable(rep *report) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\treq/s\tp50 ms\tp99 ms\terrors\trefused\tvs baseline\t")
	for _, r := range rep.Results {
		fmt.Fprintf(w, "%s\t%.0f\t%.2f\t%.2f\t%d\t%d\t%.2f\t\n", r.Scenario, r.RPS, r.P50ms, r.P99ms, r.Errors, r.Refused, r.Ratio)
	}
	w.Flush()
	for _, r := range rep.Results {
		if r.Note != "" {
			fmt.Printf("%s: first error: %s\n", r.Scenario, r.Note)
		}
	}
	fmt.Println()
	keys := make([]string, 0, len(rep.Measured))
	for k := range rep.Measured {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		fmt.Printf("%-34s %v\n", k, rep.Measured[k])
	}
	fmt.Println()
	keys = keys[:0]
	for k := range rep.Targets {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		fmt.Printf("%-34s %s\n", k, rep.Targets[k])
	}
}

func machine() string {
	host, _ := os.Hostname()
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (%s), %s %s/%s", host, runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
