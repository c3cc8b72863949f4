package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/api"
	"github.com/strongroom/strongroom/api/docsui"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/keycache"
	"github.com/strongroom/strongroom/localkms"
	"github.com/strongroom/strongroom/metrics"
	"github.com/strongroom/strongroom/mongo"
	"github.com/strongroom/strongroom/otp"
	"github.com/strongroom/strongroom/outbox"
	"github.com/strongroom/strongroom/passkey"
	"github.com/strongroom/strongroom/password"
	"github.com/strongroom/strongroom/requestid"
	"github.com/strongroom/strongroom/secret"
	"github.com/strongroom/strongroom/service"
	"github.com/strongroom/strongroom/smtp"
	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/token"
	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/web"
)

// Main is the program: configuration in, a running server out. Tests run
// it on a free loopback port with a temporary data dir.
type Main struct {
	Config Config
	Log    *slog.Logger
	Stdout io.Writer
	Stderr io.Writer

	// Rotation flags (rotate-master-key).
	RotationBatch int
	RotationPause time.Duration
	StatusOnly    bool

	// admin: "grant" or "revoke", and the account's username.
	AdminAction, AdminUser string

	// audit: the action and its flags.
	AuditFlags auditFlags

	// vault-setup flags.
	AppRole         bool
	AppRoleOperator bool // the role gets the operator policy too
	RoleIDFile      string
	SecretIDFile    string
	InitFile        string // initialize or unseal Vault, keeping its keys here
	Watch           bool   // after setup, keep Vault unsealed until ctx ends
	// Now is the clock (time.Now if nil); tests move it.
	Now func() time.Time

	// Set by Run.
	Addr        string // the address the server listens on
	DebugAddr   string // the debug server's address, if any
	MetricsAddr string // the metrics server's address, if any
	Service     *service.Service
	Store       strongroom.Store
	Keys        strongroom.KeyManager
	// AuditTrail records audit events into Store's chain, with group
	// commit; Close appends what it has queued.
	AuditTrail *audit.Trail
	// auditAppends and auditEvents count the trail's appends and the
	// events in them, for /debug/stats.
	auditAppends, auditEvents atomic.Int64

	server *http.Server
	debug  *http.Server
	// metrics, set by Run when STRONGROOM_METRICS_ADDR is, measures the
	// store, key manager and mailer that open wraps for the service.
	metrics    *metrics.Metrics
	metricsSrv *http.Server
	served     chan error
	// stopPrune ends the audit pruning that Run started; pruned is closed
	// when it has.
	stopPrune context.CancelFunc
	pruned    chan struct{}
	chmod     func(string, fs.FileMode) error // os.Chmod if nil; tests make it fail
	// handlerTimeout bounds a request's work (30 s if zero); tests shorten it.
	handlerTimeout time.Duration
}

// NewMain returns a Main with default settings.
func NewMain() *Main {
	return &Main{
		Log:           slog.New(slog.NewJSONHandler(os.Stderr, nil)),
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		RotationBatch: 500,
	}
}

// ParseFlags loads the configuration from env and then applies the
// command's flags, which win over the environment.
func (m *Main) ParseFlags(env *Env, cmd string, args []string) error {
	cfg, err := loadConfig(env, cmd == "vault-setup")
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (STRONGROOM_DATA_DIR)")
	switch cmd {
	case "serve":
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (STRONGROOM_ADDR)")
		// A rotation asked for over the API (POST /rotate-master-key) runs
		// in the server, with the server's batch size and pause.
		fs.IntVar(&m.RotationBatch, "batch-size", m.RotationBatch, "data keys rewrapped per batch by a rotation asked for over the API")
		fs.DurationVar(&m.RotationPause, "pause", m.RotationPause, "pause between a rotation's batches, to spare a busy system")
	case "admin":
	case "audit":
	case "vault-setup":
		fs.BoolVar(&m.AppRole, "approle", false, "also enable AppRole and a role bound to the service policy")
		fs.StringVar(&m.RoleIDFile, "role-id-file", "", "with -approle: write the role id here (0600)")
		fs.StringVar(&m.SecretIDFile, "secret-id-file", "", "with -approle: write the secret id here (0600); one it already holds is kept while Vault accepts it")
		fs.BoolVar(&m.AppRoleOperator, "approle-operator", false, "with -approle: the role also gets the operator policy, so the server may rotate the master key")
		fs.StringVar(&m.InitFile, "init-file", "", "single-machine Vault: initialize it (one key share) and keep its unseal key and root token in this file (0600), or unseal it with the key from it")
		fs.BoolVar(&m.Watch, "watch", false, "with -init-file: after setup, keep running and unseal Vault whenever it is sealed, until SIGINT or SIGTERM")
	default:
		fs.IntVar(&m.RotationBatch, "batch-size", m.RotationBatch, "data keys rewrapped per batch")
		fs.DurationVar(&m.RotationPause, "pause", m.RotationPause, "pause between batches, to spare a busy system")
		fs.BoolVar(&m.StatusOnly, "status", false, "only print the latest rotation's progress")
	}
	if cmd == "audit" {
		if err := m.parseAuditFlags(fs, args); err != nil {
			return err
		}
		m.Config = cfg
		return nil
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.checkMetricsAddr(); err != nil { // again: -addr may have changed the API's address
		return fmt.Errorf("configuration: %w", err)
	}
	if cmd == "admin" {
		if fs.NArg() != 2 || (fs.Arg(0) != "grant" && fs.Arg(0) != "revoke") {
			return errors.New("usage: strongroom admin grant|revoke USERNAME")
		}
		m.AdminAction, m.AdminUser = fs.Arg(0), fs.Arg(1)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	m.Config = cfg
	return nil
}

// open builds the store, key manager, mailer and service.
func (m *Main) open(ctx context.Context) error {
	cfg := &m.Config
	// Every line logged with a request's context, by whichever part,
	// carries the request's id.
	m.Log = requestid.Logger(m.Log)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	chmod := m.chmod
	if chmod == nil {
		chmod = os.Chmod
	}
	if err := securePermissions(cfg.DataDir, m.Log, chmod); err != nil {
		return err
	}
	made, err := cfg.fillSecrets()
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	for _, name := range made {
		m.Log.Warn("generated a secret and saved it in the data dir; set it in the environment for production",
			"name", name, "file", filepath.Join(cfg.DataDir, secretsFile))
	}
	db, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	m.Store = db
	kms, err := m.openKeys(ctx)
	if err != nil {
		return err
	}
	m.Keys = kms
	mailer, err := m.openMailer()
	if err != nil {
		return err
	}
	// The service gets measured parts; m.Store and m.Keys stay the parts
	// themselves, for what needs their own methods (Close, SQLite's
	// counters).
	var svcStore strongroom.Store = db
	var observer service.Observer
	// /debug/stats counts the trail's appends and events; the metrics
	// listener, when on, measures them too.
	var onCommit func(int, time.Duration)
	if m.metrics != nil {
		svcStore, kms, mailer = m.metrics.Store(db), m.metrics.KeyManager(kms), m.metrics.Mailer(mailer)
		observer = m.metrics.Observer()
		if sq, ok := db.(*sqlite.DB); ok {
			sq.ObserveCommits(m.metrics.GroupCommit("records"))
		}
		onCommit = m.metrics.GroupCommit("audit")
	}
	m.AuditTrail = audit.New(svcStore, audit.DeriveKey(cfg.Pepper.Bytes()), audit.Options{Now: m.Now, Log: m.Log, Sync: cfg.AuditSync,
		OnCommit: func(n int, d time.Duration) {
			m.auditAppends.Add(1)
			m.auditEvents.Add(int64(n))
			if onCommit != nil {
				onCommit(n, d)
			}
		}})
	hasher, err := password.New(cfg.Pepper.Bytes(), cfg.BcryptCost)
	if err != nil {
		return err
	}
	tokens, err := token.NewIssuer(cfg.JWTSecret.Bytes(), token.DefaultTTL, m.Now)
	if err != nil {
		return err
	}
	m.Service, err = service.New(service.Config{
		Store: svcStore, Keys: kms, Mailer: mailer, Passwords: hasher, Tokens: tokens, OTPKey: secret.New(string(otp.DeriveKey(cfg.Pepper.Bytes()))),
		Audit:     m.AuditTrail,
		LoginRate: cfg.LoginRate, RotationBatch: m.RotationBatch, RotationPause: m.RotationPause,
		MaxRecordsPerUser: cfg.MaxRecordsPerUser, MaxBytesPerUser: cfg.MaxBytesPerUser,
		Log: m.Log, Now: m.Now, Observer: observer,
		KeyCache: keycache.Config{MaxBytes: cfg.KeyCacheMB << 20, TTL: cfg.KeyCacheTTL, MaxAge: cfg.KeyCacheMaxAge},
	})
	return err
}

// openKeys opens Vault Transit when VAULT_ADDR is set, else the local
// keyring in the data dir.
func (m *Main) openKeys(ctx context.Context) (strongroom.KeyManager, error) {
	cfg := &m.Config
	if cfg.VaultAddr != "" {
		k, err := vault.Open(ctx, vault.Config{Address: cfg.VaultAddr, Mount: cfg.VaultMount, Key: cfg.VaultKey,
			Token: cfg.VaultToken.Reveal(), RoleID: cfg.VaultRoleID, SecretID: cfg.VaultSecretID.Reveal(), Log: m.Log})
		if err != nil {
			return nil, fmt.Errorf("Vault key manager at %s: %w", cfg.VaultAddr, err)
		}
		return k, nil
	}
	kms, err := localkms.Open(filepath.Join(cfg.DataDir, localkms.FileName))
	if err != nil {
		return nil, err
	}
	if kms.Created() {
		m.Log.Warn("created a new local master keyring; it is for one machine: use Vault in production",
			"file", filepath.Join(cfg.DataDir, localkms.FileName))
	}
	return kms, nil
}

// openMailer sends over SMTP when SMTP_SERVER is set, else writes .eml
// files into the data dir's outbox.
func (m *Main) openMailer() (strongroom.Mailer, error) {
	cfg := &m.Config
	if cfg.SMTPServer == "" {
		return outbox.New(filepath.Join(cfg.DataDir, "outbox"), cfg.EmailFrom, nil, m.Log)
	}
	sc := smtp.Config{Host: cfg.SMTPServer, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword.Reveal(),
		From: cfg.EmailFrom, ImplicitTLS: cfg.SMTPTLS == "implicit", NoTLS: cfg.SMTPTLS == "off", Timeout: cfg.SMTPTimeout}
	if cfg.SMTPCAFile != "" {
		pem, err := os.ReadFile(cfg.SMTPCAFile)
		if err != nil {
			return nil, fmt.Errorf("SMTP_CA_FILE: %w", err)
		}
		sc.RootCAs = x509.NewCertPool()
		if !sc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errors.New("SMTP_CA_FILE holds no PEM certificate")
		}
	}
	return smtp.New(sc)
}

// openStore opens MongoDB when MONGODB_URL is set, else the SQLite file.
func (m *Main) openStore(ctx context.Context) (strongroom.Store, error) {
	if m.Config.MongoDBURL.IsSet() {
		db, err := mongo.Open(ctx, m.Config.MongoDBURL.Reveal(), m.Config.DBName, 0, m.Log)
		if err != nil {
			return nil, fmt.Errorf("MongoDB store (database %s): %w", m.Config.DBName, err)
		}
		return db, nil
	}
	return sqlite.Open(ctx, filepath.Join(m.Config.DataDir, sqlite.FileName))
}

// now is the Main's clock.
func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Main) mailName() string {
	if m.Config.SMTPServer != "" {
		return "smtp"
	}
	return "outbox"
}

func (m *Main) keysName() string {
	if m.Config.VaultAddr != "" {
		return "vault"
	}
	return "local"
}

func (m *Main) storeName() string {
	if m.Config.MongoDBURL.IsSet() {
		return "mongodb"
	}
	return "sqlite"
}

// Run opens everything and starts serving in the background. Addr holds
// the bound address when it returns.
func (m *Main) Run(ctx context.Context) error {
	if m.Config.MetricsAddr != "" {
		m.metrics = metrics.New()
	}
	if err := m.open(ctx); err != nil {
		return err
	}
	if err := m.Service.Start(ctx); err != nil {
		return err
	}
	if keep := m.Config.AuditRetention; keep > 0 {
		bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
		m.stopPrune, m.pruned = cancel, make(chan struct{})
		go func() {
			defer close(m.pruned)
			m.pruneAuditLoop(bg, audit.DeriveKey(m.Config.Pepper.Bytes()), keep)
		}()
	}
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.Addr = ln.Addr().String()
	rp, err := passkey.New(m.Config.publicURL(m.Addr), appName, m.Config.Pepper.Bytes())
	if err != nil {
		ln.Close()
		return err
	}
	m.Service.UsePasskeys(rp)
	ln = newLimitListener(ln, m.Config.MaxConnsPerAddr, m.Config.TrustedProxies)
	writeTimeout, idleTimeout := m.Config.WriteTimeout, m.Config.IdleTimeout
	if writeTimeout == 0 {
		writeTimeout = defaultWriteTimeout
	}
	if idleTimeout == 0 {
		idleTimeout = defaultIdleTimeout
	}
	// Every answer must be written within WriteTimeout of its request's
	// headers (35 s: the 30 s every handler gets, and 5 s to deliver an
	// answer made at the last moment), so a client that does not read
	// cannot keep a connection and its buffers; a kept-alive connection
	// with no request closes after IdleTimeout.
	srv := api.New(m.Service, m.Log, m.Config.TrustedProxies)
	docsui.Register(srv, "Strongroom API", "/openapi.json")
	web.Register(srv, m.Service, m.Log)
	if m.metrics != nil {
		srv.OnRequest = m.metrics.ObserveRequest
	}
	m.server = &http.Server{
		Handler:           requestTimeout(srv, m.handlerTimeout),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	if m.Config.DebugAddr != "" {
		if err := m.serveDebug(); err != nil {
			return fmt.Errorf("debug server: %w", err)
		}
	}
	if m.metrics != nil {
		if err := m.serveMetrics(); err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	m.Log.Info("strongroom serving", "addr", m.Addr, "data_dir", m.Config.DataDir, "store", m.storeName(), "keys", m.keysName(), "mail", m.mailName())
	return nil
}

// requestTimeout bounds every request except a master-key rotation, which
// may take long and resumes if cut short. A rotation is also exempt from
// the server's WriteTimeout, which counts from the request's headers and
// would otherwise drop the answer of a rotation longer than it: its answer
// is one short message, written once the rotation is over, which a socket
// takes at once whether or not the client reads, so it can pin nothing.
func requestTimeout(h http.Handler, d time.Duration) http.Handler {
	if d == 0 {
		d = 30 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rotate-master-key" {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			r = r.WithContext(ctx)
		} else if r.Method == http.MethodPost {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		}
		h.ServeHTTP(w, r)
	})
}

// Close stops the server gracefully (in-flight requests finish, up to 10 s)
// and closes the store.
func (m *Main) Close() error {
	var errs []error
	if m.debug != nil {
		m.debug.Close()
		m.debug = nil
	}
	if m.metricsSrv != nil {
		m.metricsSrv.Close()
		m.metricsSrv = nil
	}
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs = append(errs, m.server.Shutdown(ctx))
		if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.server = nil
	}
	if m.Service != nil {
		m.Service.Stop()
		m.Service.Wait() // notices still being mailed may write to the store
	}
	if m.stopPrune != nil {
		m.stopPrune()
		<-m.pruned
		m.stopPrune = nil
	}
	if m.AuditTrail != nil {
		errs = append(errs, m.AuditTrail.Close()) // appends the queued events
		m.AuditTrail = nil
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
		m.Store = nil
	}
	if c, ok := m.Keys.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	m.Keys = nil
	return errors.Join(errs...)
}
