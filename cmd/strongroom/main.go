// Command strongroom serves the Strongroom API and runs its operator tasks.
//
//	strongroom serve               start the API (STRONGROOM_ADDR, default :8000)
//	strongroom rotate-master-key   rotate the master key and rewrap every data key
//	strongroom admin grant USERNAME   make an existing account an administrator
//	strongroom audit verify|export|prune   check, export or prune the audit trail
//	strongroom openapi [-3.0]      print the OpenAPI document
//	strongroom healthcheck         exit 0 if the server's /readyz answers 200
//	strongroom version             print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

const usage = `usage: strongroom <command> [flags]

commands:
  serve               serve the API until SIGINT or SIGTERM
  rotate-master-key   make a new master-key version and rewrap every data key
  vault-setup         prepare Vault: transit key, policies, optionally AppRole;
                      -init-file and -watch initialize and unseal a single-machine Vault
  admin grant USER    make an existing account an administrator
  admin revoke USER   take the administrator role away
  audit verify        check the audit trail's hash chain: exit 0 and a summary,
                      or 1 naming the first event that does not fit
                      (-expect SEQ:HASH, a head an earlier verify printed)
  audit export        write the audit events as JSON lines (-since TIME|24h,
                      -user ID, -type TYPE, -o FILE)
  audit prune         delete audit events older than -older-than (default
                      STRONGROOM_AUDIT_RETENTION), keeping the chain verifiable
  openapi [-3.0]      print the API's OpenAPI document (3.1; -3.0 for older tools)
  healthcheck         exit 0 if the server's /readyz answers 200, for a Docker
                      HEALTHCHECK without shell or curl (-url URL, -timeout 3s)
  version             print the version and the Go release it was built with

Run "strongroom <command> -h" for the command's flags.
Configuration comes from the environment and a .env file; see README.md.
`

func main() {
	// The live heap is small (tens of MiB): collecting it less often saves
	// CPU on every request, and the soft memory limit makes the collector
	// work harder again long before memory matters. GOGC and GOMEMLIMIT,
	// if set, win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(192 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "strongroom:", err)
		}
		os.Exit(1)
	}
}

// run dispatches a subcommand. It is main without the process globals, so
// tests can call it.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	if cmd := args[0]; cmd == "version" || cmd == "-version" || cmd == "--version" {
		// Before the .env is read: a broken configuration must not hide
		// which build is running.
		return printVersion(stdout)
	}
	env, err := NewEnv(lookup, ".env")
	if err != nil {
		return err
	}
	if args[0] == "healthcheck" {
		// Before anything else is read or checked: a probe must not fail
		// on settings it does not use (see healthcheck).
		return healthcheck(ctx, env, args[1:], stderr)
	}
	m := NewMain()
	m.Stdout, m.Stderr = stdout, stderr
	level := slog.LevelInfo
	if v, _ := env.Get("STRONGROOM_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return fmt.Errorf("STRONGROOM_LOG_LEVEL must be debug, info, warn or error")
		}
	}
	m.Log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	switch args[0] {
	case "serve":
		if err := m.ParseFlags(env, "serve", args[1:]); err != nil {
			return err
		}
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		<-ctx.Done()
		m.Log.Info("shutting down")
		return m.Close()
	case "rotate-master-key":
		if err := m.ParseFlags(env, "rotate-master-key", args[1:]); err != nil {
			return err
		}
		return m.RotateMasterKey(ctx)
	case "admin":
		if err := m.ParseFlags(env, "admin", args[1:]); err != nil {
			return err
		}
		return m.Admin(ctx)
	case "audit":
		if err := m.ParseFlags(env, "audit", args[1:]); err != nil {
			return err
		}
		return m.Audit(ctx)
	case "vault-setup":
		if err := m.ParseFlags(env, "vault-setup", args[1:]); err != nil {
			return err
		}
		return m.VaultSetup(ctx)
	case "openapi":
		return printOpenAPI(stdout, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
