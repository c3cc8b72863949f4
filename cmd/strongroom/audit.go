package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/internal/periodic"
)

// The operator's audit commands: verify, export and prune. They need only
// the store and the pepper (the chain's key derives from it), so they run
// while servers serve.

// auditFlags are the audit command's action and flags.
type auditFlags struct {
	Action    string // verify, export or prune
	Expect    string // verify: "SEQ:HEX", a head printed by an earlier verify
	Since     string // export: RFC 3339 time, or a duration back from now
	User      string // export: only this user's events
	Type      string // export: only events of this type
	Out       string // export: write here instead of stdout
	OlderThan string // prune: a retention, as STRONGROOM_AUDIT_RETENTION
}

const auditUsage = "usage: strongroom audit verify [-expect SEQ:HASH] | export [-since TIME|DURATION] [-user ID] [-type TYPE] [-o FILE] | prune [-older-than DURATION]"

// parseAuditFlags reads "ACTION [flags]" into m.AuditFlags.
func (m *Main) parseAuditFlags(fs *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		return errors.New(auditUsage)
	}
	a := &m.AuditFlags
	a.Action = args[0]
	switch a.Action {
	case "verify":
		fs.StringVar(&a.Expect, "expect", "", "a head printed by an earlier verify (SEQ:HASH): the chain must still hold it")
	case "export":
		fs.StringVar(&a.Since, "since", "", "only events from this time on: RFC 3339 (2026-01-02T15:04:05Z) or a duration back from now (24h, 7d)")
		fs.StringVar(&a.User, "user", "", "only this user id's events")
		fs.StringVar(&a.Type, "type", "", "only events of this type (login.failure, record.read, ...)")
		fs.StringVar(&a.Out, "o", "", "write to this file (0600) instead of the standard output")
	case "prune":
		fs.StringVar(&a.OlderThan, "older-than", "", "delete events older than this (2160h, 90d); default STRONGROOM_AUDIT_RETENTION")
	default:
		return errors.New(auditUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// parseAge reads a positive age: a Go duration (2160h) or whole days (90d).
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100_000 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration such as 2160h or 90d", s)
	}
	return d, nil
}

// parseRetention reads a retention: an age of at least an hour; "" or "0"
// keeps everything (0).
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	d, err := parseAge(s)
	if err != nil {
		return 0, err
	}
	if d < time.Hour {
		return 0, fmt.Errorf("%q is less than an hour", s)
	}
	return d, nil
}

// auditKey returns the chain's key, from PEPPER or the one generated into
// the data dir. It never generates one: a new pepper would fail every
// event.
func (m *Main) auditKey() ([]byte, error) {
	cfg := &m.Config
	if !cfg.Pepper.IsSet() {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, secretsFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		var saved map[string]string
		if err == nil && json.Unmarshal(b, &saved) != nil {
			return nil, fmt.Errorf("%s is not valid JSON", filepath.Join(cfg.DataDir, secretsFile))
		}
		if saved["PEPPER"] == "" {
			return nil, errors.New("PEPPER is not set, and the data dir holds no generated one: the audit chain's key derives from the servers' PEPPER")
		}
		return audit.DeriveKey([]byte(saved["PEPPER"])), nil
	}
	return audit.DeriveKey(cfg.Pepper.Bytes()), nil
}

// Audit runs the audit command's action.
func (m *Main) Audit(ctx context.Context) error {
	key, err := m.auditKey()
	if err != nil {
		return fmt.Errorf("audit %s: %w", m.AuditFlags.Action, err)
	}
	db, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch m.AuditFlags.Action {
	case "verify":
		return m.auditVerify(ctx, db, key)
	case "export":
		return m.auditExport(ctx, db)
	default:
		return m.auditPrune(ctx, db, key)
	}
}

func (m *Main) auditVerify(ctx context.Context, db strongroom.AuditStore, key []byte) error {
	var opt audit.VerifyOptions
	if s := m.AuditFlags.Expect; s != "" {
		seq, h, ok := strings.Cut(s, ":")
		n, err := strconv.ParseInt(seq, 10, 64)
		hash, herr := hex.DecodeString(h)
		if !ok || err != nil || n < 1 || herr != nil || len(hash) != strongroom.AuditHashSize {
			return errors.New("audit verify: -expect must be SEQ:HASH as an earlier verify printed it")
		}
		opt.Expect = strongroom.AuditHead{Seq: n, Hash: hash}
	}
	sum, err := audit.Verify(ctx, db, key, opt)
	if err != nil {
		// A Mismatch names the event and what is wrong, never its content.
		return fmt.Errorf("audit verify: %w", err)
	}
	if sum.Events == 0 {
		fmt.Fprintln(m.Stdout, "0 events, head ok")
		return nil
	}
	fmt.Fprintf(m.Stdout, "%d events, seq %d..%d, head ok (head %d:%x)\n", sum.Events, sum.First, sum.Last, sum.Head.Seq, sum.Head.Hash)
	return nil
}

func (m *Main) auditExport(ctx context.Context, db strongroom.AuditStore) error {
	a := m.AuditFlags
	f := audit.ExportFilter{UserID: a.User, Type: a.Type}
	if a.Since != "" {
		if t, err := time.Parse(time.RFC3339, a.Since); err == nil {
			f.Since = t
		} else if d, err := parseAge(a.Since); err == nil {
			f.Since = m.now().Add(-d)
		} else {
			return errors.New("audit export: -since must be an RFC 3339 time or a duration such as 24h or 7d")
		}
	}
	w, commit := io.Writer(m.Stdout), func() error { return nil }
	if a.Out != "" {
		p, err := createPending(a.Out)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		defer p.abort()
		buf := bufio.NewWriter(p.f)
		w, commit = buf, func() error {
			if err := buf.Flush(); err != nil {
				return err
			}
			return p.commit(nil)
		}
	}
	n, err := audit.Export(ctx, db, w, f)
	if err == nil {
		err = commit()
	}
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if a.Out != "" {
		fmt.Fprintf(m.Stderr, "%d events written to %s\n", n, a.Out)
	}
	return nil
}

func (m *Main) auditPrune(ctx context.Context, db strongroom.AuditStore, key []byte) error {
	keep := m.Config.AuditRetention
	if s := m.AuditFlags.OlderThan; s != "" {
		d, err := parseRetention(s)
		if err != nil || d == 0 {
			return fmt.Errorf("audit prune: -older-than: a duration of at least an hour, such as 2160h or 90d")
		}
		keep = d
	}
	if keep == 0 {
		return errors.New("audit prune: give -older-than, or set STRONGROOM_AUDIT_RETENTION")
	}
	before := m.now().Add(-keep)
	n, err := audit.Prune(ctx, db, key, before)
	if err != nil {
		return fmt.Errorf("audit prune: %w", err)
	}
	fmt.Fprintf(m.Stdout, "%d events older than %s pruned\n", n, before.UTC().Format(time.RFC3339))
	return nil
}

// auditPruneEvery is how often a server prunes the audit trail when
// STRONGROOM_AUDIT_RETENTION is set. Every server does; prunes at once on
// one store are safe.
const auditPruneEvery = time.Hour

// auditPruneTick is how often a server checks whether a prune is due;
// tests shorten it.
var auditPruneTick = time.Minute

// pruneAuditLoop prunes events older than the retention once an hour (by
// the Main's clock, checked each auditPruneTick, the first time one tick
// after start) until ctx ends.
func (m *Main) pruneAuditLoop(ctx context.Context, key []byte, keep time.Duration) {
	var gate periodic.Gate
	t := time.NewTicker(auditPruneTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !gate.Due(m.now(), auditPruneEvery) {
			continue
		}
		before := m.now().Add(-keep)
		if n, err := audit.Prune(ctx, m.Store, key, before); err != nil {
			m.Log.WarnContext(ctx, "could not prune the audit trail", "err", err)
		} else if n > 0 {
			m.Log.InfoContext(ctx, "audit events pruned", "count", n, "older_than", before.UTC().Format(time.RFC3339))
		}
	}
}
