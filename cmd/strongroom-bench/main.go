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
	flag.StringVar(&o.scenarios, "scenario", "all", "comma-separated: read,list,create,login,login-load,revocation,rotation,rotation-vault (with -short, only when named), and transit (only when named); baseline always runs")
	flag.IntVar(&o.users, "users", 1000, "users for the read, list and create scenarios")
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
			"rotation_users": o.rotationUsers, "short": o.short, "isolate": o.isolate, "server": o.server}}

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

	fmt.Fprintf(os.Stderr, "seeding %d users x %d records...\n", o.users, o.records)
	env := []string{"JWT_SECRET=" + benchJWTSecret, "PEPPER=" + benchPepper}
	if err := makeSchema(bin, dataDir, env); err != nil {
		return err
	}
	users, err := seed(ctx, dataDir, o.users, o.records, o.users)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	srv, err := startStrongroom(bin, dataDir, env)
	if err != nil {
		return err
	}
	defer srv.stop()
	time.Sleep(500 * time.Millisecond)
	rep.Measured["rss_idle_mib"] = round(srv.rssMiB())
	sc := &scenarios{o: o, srv: srv, users: users, client: newClient(o.concurrency), baseline: baseline, fsyncs: fsyncs, hashTime: hashTime, rep: rep}
	sc.runAll(ctx, bin, work, env)
	rep.Measured["rss_end_mib"] = round(srv.rssMiB())

	printTable(rep)
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(o.out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "report written to", o.out)
	return nil
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
