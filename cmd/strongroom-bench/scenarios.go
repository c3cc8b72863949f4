package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom/password"
)

type scenarios struct {
	o        options
	srv      *proc
	users    *population
	pick     picker // the users of the read and list scenarios (-access)
	client   *http.Client
	baseline result
	fsyncs   float64
	hashTime time.Duration
	rep      *report
	idleRead result
	bin      string   // the server under test
	env      []string // its environment
}

func (s *scenarios) url(path string) string { return "http://" + s.srv.Addr + path }

func (s *scenarios) add(r result) result {
	if s.baseline.RPS > 0 {
		r.Ratio = round(r.RPS / s.baseline.RPS)
	}
	r.RPS, r.P50ms, r.P99ms = round(r.RPS), round(r.P50ms), round(r.P99ms)
	s.rep.Results = append(s.rep.Results, r)
	fmt.Fprintf(os.Stderr, "%-40s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  refused %d\n", r.Scenario, r.RPS, r.P50ms, r.P99ms, r.Errors, r.Refused)
	return r
}

func (s *scenarios) verdict(name string, got, target float64, cmp string, format string) {
	ok := got >= target
	if cmp == "<=" {
		ok = got <= target
	}
	v := "met"
	if !ok {
		v = "MISSED"
	}
	s.rep.Targets[name] = fmt.Sprintf(format+" (target %s "+format+"): %s", got, cmp, target, v)
}

// readRequests reads a random record of a user chosen by pick.
func (s *scenarios) readRequests(pick picker) request {
	return func(int, int) (*http.Request, error) {
		i := pick()
		return s.readRequest(i, rnd(s.users.records))
	}
}

// readRequest reads user i's k-th record.
func (s *scenarios) readRequest(i, k int) (*http.Request, error) {
	return jsonRequest("GET", s.url("/sensitive-data/"+s.users.recordID(i, k)), s.users.token(i), nil)
}

// sweep reads one record of every user once, conc requests at a time:
// after it every user's data key has been unwrapped once, and is cached if
// the server's cache holds them all. It is the warm-up before steady
// reads, which no fixed time could make sure of with many users.
func (s *scenarios) sweep(ctx context.Context, conc int) result {
	var next atomic.Int64
	return run(ctx, "warm-up: every user once", s.client, conc, 24*time.Hour, func(int, int) (*http.Request, error) {
		i := int(next.Add(1)) - 1
		if i >= s.users.len() {
			return nil, errEnough
		}
		return s.readRequest(i, 0)
	}, status2xx)
}

// readSteady measures reads in the steady state, after a sweep: their
// rate against the baseline, and what they cost the key manager.
func (s *scenarios) readSteady(ctx context.Context) {
	o := s.o
	start := time.Now()
	fmt.Fprintf(os.Stderr, "warm-up: reading one record of each of the %d users...\n", s.users.len())
	warm := s.sweep(ctx, o.concurrency)
	s.rep.Measured["warmup_seconds"] = round(time.Since(start).Seconds())
	s.rep.Measured["warmup_errors"] = warm.Errors + warm.Refused
	if warm.Errors+warm.Refused > 0 {
		s.rep.Targets["warm-up"] = fmt.Sprintf("%d errors and %d refused; the first: %s", warm.Errors, warm.Refused, warm.Note)
	}
	before := s.srv.snapshot()
	stopProfile := s.srv.profile(o.profile, "read", o.duration)
	r := s.add(run(ctx, "read one record (cached key)", s.client, o.concurrency, o.duration, s.readRequests(s.pick), status2xx))
	stopProfile()
	unwraps := round4(float64(s.costs("read", before, r).unwraps()) / float64(max(r.Requests, 1)))
	s.idleRead = r
	s.rep.Measured["rss_after_read_mib"] = round(s.srv.rssMiB())
	total := s.srv.unwraps()
	s.rep.Measured["unwraps_total_vs_users"] = fmt.Sprintf("%d unwraps for %d users", total, s.users.len())
	s.verdict("read req/s vs baseline", r.Ratio, 0.5, ">=", "%.2f")
	s.verdict("read p99 vs baseline p99", round(r.P99ms/s.baseline.P99ms), 3, "<=", "%.2f")
	s.verdict("key-manager unwraps per user", round(float64(total)/float64(s.users.len())), 1, "<=", "%.2f")
	if o.access == "uniform" && s.users.len() >= 100_000 {
		s.verdict("unwraps per steady read (uniform, >= 100 000 users)", unwraps, 0.01, "<=", "%.4f")
	}
}

func (s *scenarios) runAll(ctx context.Context, bin, work string, env []string) {
	o := s.o
	if want(o, "read") || want(o, "login-load") || want(o, "rotation") || named(o, "restart") {
		s.readSteady(ctx)
	}
	if want(o, "list") {
		costs := s.srv.snapshot()
		stopProfile := s.srv.profile(o.profile, "list", o.duration)
		r := s.add(run(ctx, fmt.Sprintf("list %d records", o.records), s.client, o.concurrency, o.duration,
			func(int, int) (*http.Request, error) {
				return jsonRequest("GET", s.url("/sensitive-data"), s.users.token(s.pick()), nil)
			}, status2xx))
		stopProfile()
		s.costs("list", costs, r)
		s.verdict("list req/s vs baseline", r.Ratio, 0.3, ">=", "%.2f")
	}
	if named(o, "restart") {
		if err := s.restart(ctx); err != nil {
			s.rep.Targets["restart"] = "failed: " + err.Error()
		}
	}
	if want(o, "create") {
		before := s.srv.stats().GroupCommits
		stopProfile := s.srv.profile(o.profile, "create", o.duration)
		r := s.add(run(ctx, "create record (durable)", s.client, o.concurrency, o.duration,
			func(int, int) (*http.Request, error) {
				return jsonRequest("POST", s.url("/sensitive-data"), s.users.token(rnd(s.users.len())), []byte(`{"data_type":"card_number","value":"4111111111111111"}`))
			}, status2xx))
		stopProfile()
		after := s.srv.stats().GroupCommits
		commits := after.Commits - before.Commits
		s.rep.Measured["create_commits"] = commits
		s.rep.Measured["create_records_per_commit"] = round(float64(after.Records-before.Records) / float64(max(commits, 1)))
		// The target, 5 creates per measured fsync, as a share of what the
		// bare baseline serves: above 1, no handler that does more work
		// than the baseline can meet it on this machine.
		s.rep.Measured["create_target_vs_baseline_rps"] = round(5 * s.fsyncs / s.baseline.RPS)
		s.verdict("creates/s vs fsyncs/s", round(r.RPS/s.fsyncs), 5, ">=", "%.2f")
		s.verdict("create errors", float64(r.Errors+r.Refused), 0, "<=", "%.0f")
	}
	if want(o, "login") {
		limit := float64(serverCores()) / s.hashTime.Seconds()
		// Enough clients to keep every hashing slot busy, not so many that
		// refused requests spin: the pool answers the rest 503 at once.
		// Each client has its own address, as people logging in do.
		conc := 4 * serverCores()
		r := s.add(run(ctx, "login (bcrypt 12)", newSpreadClient(conc), conc, 2*o.duration, s.loginRequests(), status2xx))
		s.verdict("logins/s vs bcrypt limit", round(r.RPS/limit), 0.9, ">=", "%.2f")
	}
	if want(o, "login-load") && s.idleRead.Requests > 0 {
		s.loginLoad(ctx)
	}
	if want(o, "revocation") {
		if err := s.revocation(ctx, bin, env); err != nil {
			s.rep.Targets["revocation"] = "failed: " + err.Error()
		}
	}
	if want(o, "rotation") {
		if err := s.rotation(ctx, bin, work, env); err != nil {
			s.rep.Targets["rotation"] = "failed: " + err.Error()
		}
	}
	if named(o, "transit") {
		if err := s.transit(ctx); err != nil {
			s.rep.Targets["transit"] = "failed: " + err.Error()
		}
	}
	// A smoke run (-short) leaves the Vault rotation out unless it is
	// named: with a Vault of its own and a thousand first reads through
	// it, it would add 7 to 15 s to CI's run on two busy cores.
	if want(o, "rotation-vault") && (!o.short || named(o, "rotation-vault")) {
		if err := s.rotationVault(ctx, bin, work, env); err != nil {
			s.rep.Targets["rotation-vault"] = "failed: " + err.Error()
		}
	}
}

// costs notes what each request of the scenario cost the server, from a
// snapshot before it: CPU time, which unlike the ratios hardly moves with
// what else the machine runs (so it compares two servers measured at
// different times), the key manager's work (keyCosts), and the audit
// trail's record.read events per request (one per record returned) and
// per append (the group commit's batches). A server without a trail (an
// older commit) reports no events. It returns the window measured.
func (s *scenarios) costs(name string, before snapshot, r result) window {
	w := window{before, s.srv.snapshot()}
	n := float64(max(r.Requests, 1))
	s.rep.Measured[name+"_server_cpu_us_per_request"] = round((w.after.cpu - before.cpu) * 1e6 / n)
	s.keyCosts(name, w, n)
	if before.audit.Events < 0 || w.after.audit.Events < 0 {
		s.rep.Measured[name+"_audit"] = "no audit trail in this server"
		return w
	}
	events, appends := w.after.audit.Events-before.audit.Events, w.after.audit.Appends-before.audit.Appends
	s.rep.Measured[name+"_audit_events_per_request"] = round(float64(events) / n)
	s.rep.Measured[name+"_audit_events_per_append"] = round(float64(events) / float64(max(appends, 1)))
	return w
}

// keyCosts notes what the n requests of a window cost the key manager:
// data keys unwrapped per request, the key manager's unwrap calls per
// second (which batching makes fewer than the unwraps) and, on Vault, its
// HTTP calls per second: -1 where the server does not count them.
func (s *scenarios) keyCosts(name string, w window, n float64) {
	secs := w.seconds()
	s.rep.Measured[name+"_unwraps_per_request"] = round4(float64(w.unwraps()) / n)
	s.rep.Measured[name+"_km_unwrap_calls_per_s"] = perSecond(w.unwrapCalls(), secs)
	s.rep.Measured[name+"_vault_calls_per_s"] = perSecond(w.vaultCalls(), secs)
	b, a := w.before.keys, w.after.keys
	if lookups := float64(a.Hits + a.Misses - b.Hits - b.Misses); lookups > 0 {
		s.rep.Measured[name+"_keycache_hit_rate"] = round4(float64(a.Hits-b.Hits) / lookups)
	}
}

// window is the server's counters before and after a measurement.
type window struct{ before, after snapshot }

func (w window) seconds() float64 { return w.after.at.Sub(w.before.at).Seconds() }
func (w window) unwraps() int64   { return w.after.keys.Unwraps - w.before.keys.Unwraps }

// unwrapCalls is the key manager's unwrap calls in the window, -1 if the
// server does not count them.
func (w window) unwrapCalls() int64 {
	return delta(w.before.keys.UnwrapCalls, w.after.keys.UnwrapCalls)
}

// vaultCalls is the HTTP calls made to Vault in the window, -1 if the
// server is not on Vault.
func (w window) vaultCalls() int64 { return delta(w.before.vaultCalls, w.after.vaultCalls) }

// delta is b-a, or -1 if either is -1: a counter the server does not keep.
func delta(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

// perSecond is n over secs, or -1 for a counter the server does not keep.
func perSecond(n int64, secs float64) float64 {
	if n < 0 {
		return -1
	}
	return round(float64(n) / secs)
}

func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }

func (s *scenarios) loginRequests() request {
	return func(int, int) (*http.Request, error) {
		return jsonRequest("POST", s.url("/login"), "", loginBody(s.users.name(rnd(s.users.len()))))
	}
}

func loginBody(name string) []byte {
	return []byte(`{"username":"` + name + `","password":"` + benchPassword + `"}`)
}

// loginLoad measures reads while 100 clients hammer /login, against reads
// alone with the same number of readers. As a control it also measures the
// reads while the same 100 clients hammer /healthz, a route that does no
// work: what any flood of that many requests costs the readers on this
// machine, login handling or not.
func (s *scenarios) loginLoad(ctx context.Context) {
	const readers = 16
	idle := s.add(run(ctx, fmt.Sprintf("read, %d clients, idle", readers), s.client, readers, s.o.duration, s.readRequests(s.pick), status2xx))
	loaded, ok := s.underFlood(ctx, readers, "/login", "login_load")
	if !ok {
		return
	}
	control, ok := s.underFlood(ctx, readers, "/healthz", "control_load")
	if !ok {
		return
	}
	s.verdict("read p99 under login load vs idle", round(loaded.P99ms/idle.P99ms), 2, "<=", "%.2f")
	s.rep.Measured["read_p99_control_load_vs_idle"] = round(control.P99ms / idle.P99ms)
	s.rep.Measured["read_p99_login_load_vs_control_load"] = round(loaded.P99ms / control.P99ms)
}

// underFlood measures readers while 100 clients, in a process of their own,
// hammer path; it records where the CPUs went under the key prefix.
func (s *scenarios) underFlood(ctx context.Context, readers int, path, key string) (result, bool) {
	flood, results, err := startHammer(s.srv.Addr, path, 100, s.users.len(), s.o.duration+2*time.Second)
	if err != nil {
		s.rep.Targets[key] = "failed: " + err.Error()
		return result{}, false
	}
	time.Sleep(500 * time.Millisecond)
	pids := []int{s.srv.cmd.Process.Pid, flood.Process.Pid, os.Getpid()}
	cpu0, t0 := cpuSecondsOf(pids), time.Now()
	loaded := s.add(run(ctx, fmt.Sprintf("read, %d clients, 100 hammer %s", readers, path), s.client, readers, s.o.duration, s.readRequests(s.pick), status2xx))
	el, cpu1 := time.Since(t0).Seconds(), cpuSecondsOf(pids)
	s.rep.Measured[key+"_server_cores"] = round((cpu1[0] - cpu0[0]) / el)
	s.rep.Measured[key+"_flood_cores"] = round((cpu1[1] - cpu0[1]) / el)
	s.rep.Measured[key+"_readers_cores"] = round((cpu1[2] - cpu0[2]) / el)
	var hammered result
	err = results.Decode(&hammered)
	if werr := flood.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		s.rep.Targets[key] = "failed: the flood: " + err.Error()
		return result{}, false
	}
	s.add(hammered)
	return loaded, true
}

// rotation rotates the master key over rotationUsers users' data keys,
// through the API, while clients keep reading.
func (s *scenarios) rotation(ctx context.Context, bin, work string, env []string) error {
	dir := filepath.Join(work, "rotation")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeding %d users for the rotation...\n", s.o.rotationUsers)
	if err := makeSchema(bin, dir, env); err != nil {
		return err
	}
	users, err := seed(ctx, dir, s.o.rotationUsers, 1)
	if err != nil {
		return err
	}
	srv, err := startStrongroom(bin, dir, env)
	if err != nil {
		return err
	}
	defer srv.stop()
	rr, err := s.rotateUnderReads(ctx, srv, users, "rotation", "rotation")
	if err != nil {
		return err
	}
	rate := float64(users.len()) / rr.took.Seconds()
	s.rep.Measured["rotation_seconds"] = round(rr.took.Seconds())
	s.rep.Measured["rotation_deks_per_s"] = round(rate)
	s.verdict("rotation DEKs rewrapped per s", round(rate), 10000, ">=", "%.0f")
	s.verdict("read p99 during rotation vs before", round(rr.during.P99ms/rr.idle.P99ms), 2, "<=", "%.2f")
	s.rep.Measured["rss_rotation_server_end_mib"] = round(srv.rssMiB())
	return nil
}

// rotated is what rotateUnderReads measured.
type rotated struct {
	idle, during result
	took         time.Duration // the POST /rotate-master-key, sent to answered
	cpu          []float64     // CPU seconds of the pids given, over took
}

// rotateUnderReads measures reads of the first 1 000 users' records by 16
// clients, idle, then during a rotation of every user's data key started
// with POST /rotate-master-key by users[0], an administrator. The CPU time
// of the processes pids is read around the rotation. what names the
// rotation in the scenarios' names, profile in the profiles' files.
func (s *scenarios) rotateUnderReads(ctx context.Context, srv *proc, users *population, what, profile string, pids ...int) (rotated, error) {
	var rr rotated
	rs := &scenarios{o: s.o, srv: srv, users: users.first(1000), client: newClient(16)}
	rs.pick = uniform(rs.users.len())
	// Every reader's data key into the cache (one key-manager unwrap
	// each), then a warm-up, so that the idle reads are steady ones.
	warm := rs.sweep(ctx, 16)
	warm2 := run(ctx, "warm-up", rs.client, 16, s.o.duration/2, rs.readRequests(rs.pick), status2xx)
	if warm.Errors > 0 || warm2.Errors > 0 {
		return rr, fmt.Errorf("reads before the %s failed: %d errors, the first: %s%s", what, warm.Errors+warm2.Errors, warm.Note, warm2.Note)
	}
	rr.idle = s.add(run(ctx, "read, 16 clients, before "+what, rs.client, 16, s.o.duration, rs.readRequests(rs.pick), status2xx))

	stop, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rr.during = run(stop, "read, 16 clients, during "+what, rs.client, 16, time.Hour, rs.readRequests(rs.pick), status2xx)
	}()
	time.Sleep(200 * time.Millisecond)
	req, _ := jsonRequest("POST", "http://"+srv.Addr+"/rotate-master-key", users.token(0), nil)
	stopProfile := srv.profile(s.o.profile, profile, s.o.duration)
	cpu0 := cpuSecondsOf(pids)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	rr.took = time.Since(start)
	cpu1 := cpuSecondsOf(pids)
	cancel()
	stopProfile()
	wg.Wait()
	if err != nil {
		return rr, err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return rr, fmt.Errorf("%s answered %d", what, res.StatusCode)
	}
	for i := range pids {
		rr.cpu = append(rr.cpu, cpu1[i]-cpu0[i])
	}
	rr.during = s.add(rr.during)
	return rr, nil
}

// fsyncRate measures how many 4 KiB write+fsync rounds the data dir's disk
// does per second.
func fsyncRate(dir string, d time.Duration) float64 {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return 0
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.WriteAt(buf, int64(n%64)*4096); err != nil {
			return 0
		}
		if err := f.Sync(); err != nil {
			return 0
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

// bcryptTime is one cost-12 hash, the best of three.
func bcryptTime() time.Duration {
	h, err := password.New([]byte(benchPepper), password.DefaultCost)
	if err != nil {
		return time.Second
	}
	best := time.Hour
	for i := 0; i < 3; i++ {
		start := time.Now()
		_, _, _ = h.Hash(context.Background(), rand.Reader, benchPassword)
		best = min(best, time.Since(start))
	}
	return best
}

func sortStrings(s []string) { sort.Strings(s) }
