package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/strongroom/strongroom/keycache"
	"github.com/strongroom/strongroom/mongo"
	"github.com/strongroom/strongroom/passkey"
	"github.com/strongroom/strongroom/password"
	"github.com/strongroom/strongroom/secret"
	"github.com/strongroom/strongroom/service"
)

// Config is everything Strongroom reads from its environment. It is read
// once, here, and passed to constructors. Its secrets are secret.Values, so
// a Config can be printed, logged or encoded without showing them.
type Config struct {
	Addr      string // STRONGROOM_ADDR, default ":8000"
	DataDir   string // STRONGROOM_DATA_DIR, default "./data"
	DebugAddr string // STRONGROOM_DEBUG_ADDR: pprof and counters, loopback only
	// MetricsAddr (STRONGROOM_METRICS_ADDR) serves Prometheus metrics on a
	// listener of its own; unset: no metrics. Never the API's address.
	MetricsAddr string
	// PublicURL (STRONGROOM_PUBLIC_URL) is the origin users reach the
	// server at, such as https://vault.example.com: passkeys are made for
	// it. Unset: http://localhost and the port the server listens on.
	PublicURL string
	// TrustedProxies (STRONGROOM_TRUSTED_PROXIES, comma-separated CIDRs) are
	// the reverse proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// LoginRate (STRONGROOM_LOGIN_RATE, default DefaultLoginRate) is how
	// many logins and registrations one client address may start per
	// minute; 0 turns the limit off.
	LoginRate  int
	Production bool         // STRONGROOM_ENV=production, in any case (development or unset: not)
	BcryptCost int          // STRONGROOM_BCRYPT_COST, default 12, at least 10
	JWTSecret  secret.Value // JWT_SECRET (or JWT_SECRET_FILE)
	Pepper     secret.Value // PEPPER (or PEPPER_FILE)
	EmailFrom  string       // EMAIL_FROM, default "strongroom@localhost"

	// Production parts, chosen when set.
	MongoDBURL secret.Value // MONGODB_URL: use the MongoDB store (it may hold a password, or MONGODB_PASSWORD add it)
	DBName     string       // DB_NAME, default "secure_api"
	VaultAddr  string       // VAULT_ADDR: use the Vault Transit key manager
	VaultToken secret.Value // VAULT_TOKEN (or VAULT_TOKEN_FILE)
	// AppRole login instead of a token: VAULT_ROLE_ID and VAULT_SECRET_ID
	// (or their _FILE forms).
	VaultRoleID   string
	VaultSecretID secret.Value
	VaultMount    string        // VAULT_TRANSIT_MOUNT, default "transit"
	VaultKey      string        // VAULT_TRANSIT_KEY, default "strongroom-master"
	SMTPServer    string        // SMTP_SERVER: send mail over SMTP instead of the outbox
	SMTPPort      int           // SMTP_PORT, default 587 (465: implicit TLS)
	SMTPUsername  string        // SMTP_USERNAME
	SMTPPassword  secret.Value  // SMTP_PASSWORD (or SMTP_PASSWORD_FILE)
	SMTPTLS       string        // SMTP_TLS: "" (STARTTLS required, implicit on 465), "implicit", or "off"
	SMTPCAFile    string        // SMTP_CA_FILE: PEM roots to trust instead of the system's
	SMTPTimeout   time.Duration // SMTP_TIMEOUT, default 10s: one delivery, connect to QUIT

	// Limits on what one client can take.
	MaxRecordsPerUser int64         // STRONGROOM_MAX_RECORDS_PER_USER, default 10 000
	MaxBytesPerUser   int64         // STRONGROOM_MAX_BYTES_PER_USER, default 16 MiB of stored encrypted values
	MaxConnsPerAddr   int           // STRONGROOM_MAX_CONNS_PER_ADDR, default 64; 0 turns the cap off
	WriteTimeout      time.Duration // STRONGROOM_WRITE_TIMEOUT, default 35s: from a request's headers to the end of its answer
	IdleTimeout       time.Duration // STRONGROOM_IDLE_TIMEOUT, default 120s: a kept-alive connection with no request

	// The cache of unwrapped data keys (keycache): its memory in MiB
	// (STRONGROOM_KEY_CACHE_MB, default 32: about 190 000 keys), how long
	// a key may go unused (STRONGROOM_KEY_CACHE_TTL, default 60s), and how
	// long after its unwrap it is dropped anyway (STRONGROOM_KEY_CACHE_MAX_AGE,
	// default 30m).
	KeyCacheMB     int64
	KeyCacheTTL    time.Duration
	KeyCacheMaxAge time.Duration

	// AuditRetention (STRONGROOM_AUDIT_RETENTION: 2160h, 90d; unset or 0:
	// keep everything) is how long audit events are kept; servers prune
	// older ones once an hour.
	AuditRetention time.Duration
	// AuditSync (STRONGROOM_AUDIT_SYNC, default false) makes every audit
	// event durable before its answer, record reads too.
	AuditSync bool
}

// defaultAddr is STRONGROOM_ADDR's default, which serve listens on and
// healthcheck asks.
const defaultAddr = ":8000"

// Defaults of the limits on one client.
const (
	defaultMaxConnsPerAddr = 64
	defaultWriteTimeout    = 35 * time.Second
	defaultIdleTimeout     = 120 * time.Second
)

// DefaultLoginRate is STRONGROOM_LOGIN_RATE's default: 30 logins and
// registrations a minute from one address, as many at once.
const DefaultLoginRate = 30

// LoadConfig reads and validates the configuration.
func LoadConfig(e *Env) (Config, error) { return loadConfig(e, false) }

// loadConfig is LoadConfig; for vaultSetup it neither reads the AppRole
// credentials nor asks for Vault credentials: vault-setup makes the AppRole
// files (a bootstrap restarted before it wrote them must not fail on them)
// and checks its own credentials (VAULT_TOKEN or -init-file).
func loadConfig(e *Env, vaultSetup bool) (Config, error) {
	c := Config{Addr: defaultAddr, DataDir: "./data", BcryptCost: password.DefaultCost, LoginRate: DefaultLoginRate, DBName: "secure_api",
		EmailFrom: "strongroom@localhost", VaultMount: "transit", VaultKey: "strongroom-master",
		MaxRecordsPerUser: service.DefaultMaxRecords, MaxBytesPerUser: service.DefaultMaxBytes,
		MaxConnsPerAddr: defaultMaxConnsPerAddr, WriteTimeout: defaultWriteTimeout, IdleTimeout: defaultIdleTimeout,
		KeyCacheMB: keycache.DefaultMaxBytes >> 20, KeyCacheTTL: keycache.DefaultTTL, KeyCacheMaxAge: keycache.DefaultMaxAge}
	var errs []error
	str := func(name string, dst *string) {
		v, err := e.Get(name)
		if err != nil {
			errs = append(errs, err)
		} else if v != "" {
			*dst = v
		}
	}
	sec := func(name string, dst *secret.Value) {
		var v string
		str(name, &v)
		*dst = secret.New(v)
	}
	str("STRONGROOM_ADDR", &c.Addr)
	str("STRONGROOM_DATA_DIR", &c.DataDir)
	str("STRONGROOM_PUBLIC_URL", &c.PublicURL)
	if c.PublicURL != "" {
		if _, err := passkey.New(c.PublicURL, appName, nil); err != nil {
			errs = append(errs, fmt.Errorf("STRONGROOM_PUBLIC_URL: %w", err))
		}
	}
	str("STRONGROOM_DEBUG_ADDR", &c.DebugAddr)
	str("STRONGROOM_METRICS_ADDR", &c.MetricsAddr)
	var proxies string
	str("STRONGROOM_TRUSTED_PROXIES", &proxies)
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("STRONGROOM_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", p))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	sec("JWT_SECRET", &c.JWTSecret)
	sec("PEPPER", &c.Pepper)
	str("EMAIL_FROM", &c.EmailFrom)
	sec("MONGODB_URL", &c.MongoDBURL)
	var mongoPassword secret.Value
	sec("MONGODB_PASSWORD", &mongoPassword)
	if mongoPassword.IsSet() {
		if !c.MongoDBURL.IsSet() {
			errs = append(errs, errors.New("MONGODB_PASSWORD is set but MONGODB_URL is not"))
		} else if u, err := mongo.WithPassword(c.MongoDBURL.Reveal(), mongoPassword.Reveal()); err != nil {
			errs = append(errs, fmt.Errorf("MONGODB_URL with MONGODB_PASSWORD: %w", err))
		} else {
			c.MongoDBURL = secret.New(u)
		}
	}
	str("DB_NAME", &c.DBName)
	str("VAULT_ADDR", &c.VaultAddr)
	sec("VAULT_TOKEN", &c.VaultToken)
	if !vaultSetup {
		str("VAULT_ROLE_ID", &c.VaultRoleID)
		sec("VAULT_SECRET_ID", &c.VaultSecretID)
	}
	str("VAULT_TRANSIT_MOUNT", &c.VaultMount)
	str("VAULT_TRANSIT_KEY", &c.VaultKey)
	str("SMTP_SERVER", &c.SMTPServer)
	str("SMTP_USERNAME", &c.SMTPUsername)
	sec("SMTP_PASSWORD", &c.SMTPPassword)
	str("SMTP_TLS", &c.SMTPTLS)
	str("SMTP_CA_FILE", &c.SMTPCAFile)
	var smtpPort string
	str("SMTP_PORT", &smtpPort)
	c.SMTPPort = 587
	if smtpPort != "" {
		n, err := strconv.Atoi(smtpPort)
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, errors.New("SMTP_PORT must be a port number"))
		}
		c.SMTPPort = n
	}
	var smtpTimeout string
	str("SMTP_TIMEOUT", &smtpTimeout)
	if smtpTimeout != "" {
		d, err := time.ParseDuration(smtpTimeout)
		if err != nil || d <= 0 {
			errs = append(errs, errors.New("SMTP_TIMEOUT must be a duration such as 10s"))
		}
		c.SMTPTimeout = d
	}
	var maxRecords, maxBytes, maxConns, writeTimeout, idleTimeout, cacheMB, cacheTTL, cacheMaxAge string
	str("STRONGROOM_KEY_CACHE_MB", &cacheMB)
	str("STRONGROOM_KEY_CACHE_TTL", &cacheTTL)
	str("STRONGROOM_KEY_CACHE_MAX_AGE", &cacheMaxAge)
	if cacheMB != "" {
		n, err := strconv.ParseInt(cacheMB, 10, 64)
		if err != nil || n < 1 || n > 1<<20 {
			errs = append(errs, errors.New("STRONGROOM_KEY_CACHE_MB must be a number of MiB from 1 to 1048576"))
		}
		c.KeyCacheMB = n
	}
	str("STRONGROOM_MAX_RECORDS_PER_USER", &maxRecords)
	str("STRONGROOM_MAX_BYTES_PER_USER", &maxBytes)
	str("STRONGROOM_MAX_CONNS_PER_ADDR", &maxConns)
	str("STRONGROOM_WRITE_TIMEOUT", &writeTimeout)
	str("STRONGROOM_IDLE_TIMEOUT", &idleTimeout)
	if maxRecords != "" {
		n, err := strconv.ParseInt(maxRecords, 10, 64)
		if err != nil || n < 1 {
			errs = append(errs, errors.New("STRONGROOM_MAX_RECORDS_PER_USER must be a number of records, at least 1"))
		}
		c.MaxRecordsPerUser = n
	}
	if maxBytes != "" {
		n, err := parseBytes(maxBytes)
		if err != nil || n < 1024 {
			errs = append(errs, errors.New("STRONGROOM_MAX_BYTES_PER_USER must be a size of at least 1024 bytes, such as 16777216 or 16MiB"))
		}
		c.MaxBytesPerUser = n
	}
	if maxConns != "" {
		n, err := strconv.Atoi(maxConns)
		if err != nil || n < 0 {
			errs = append(errs, errors.New("STRONGROOM_MAX_CONNS_PER_ADDR must be a number of connections (0: no cap)"))
		}
		c.MaxConnsPerAddr = n
	}
	for _, d := range []struct {
		name, v string
		dst     *time.Duration
	}{{"STRONGROOM_WRITE_TIMEOUT", writeTimeout, &c.WriteTimeout}, {"STRONGROOM_IDLE_TIMEOUT", idleTimeout, &c.IdleTimeout},
		{"STRONGROOM_KEY_CACHE_TTL", cacheTTL, &c.KeyCacheTTL}, {"STRONGROOM_KEY_CACHE_MAX_AGE", cacheMaxAge, &c.KeyCacheMaxAge}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil || v < time.Second {
			errs = append(errs, fmt.Errorf("%s must be a duration of at least 1s, such as 35s", d.name))
		}
		*d.dst = v
	}
	if c.KeyCacheMaxAge < c.KeyCacheTTL {
		errs = append(errs, errors.New("STRONGROOM_KEY_CACHE_MAX_AGE must be at least STRONGROOM_KEY_CACHE_TTL"))
	}
	if c.SMTPTLS != "" && c.SMTPTLS != "off" && c.SMTPTLS != "implicit" {
		errs = append(errs, errors.New(`SMTP_TLS must be empty (STARTTLS required), "implicit" or "off"`))
	}
	var retention string
	str("STRONGROOM_AUDIT_RETENTION", &retention)
	if d, err := parseRetention(retention); err != nil {
		errs = append(errs, fmt.Errorf("STRONGROOM_AUDIT_RETENTION must be a duration of at least an hour, such as 2160h or 90d, or 0 to keep everything: %w", err))
	} else {
		c.AuditRetention = d
	}
	var auditSync string
	str("STRONGROOM_AUDIT_SYNC", &auditSync)
	if auditSync != "" {
		b, err := strconv.ParseBool(auditSync)
		if err != nil {
			errs = append(errs, errors.New("STRONGROOM_AUDIT_SYNC must be true or false"))
		}
		c.AuditSync = b
	}
	var loginRate string
	str("STRONGROOM_LOGIN_RATE", &loginRate)
	if loginRate != "" {
		n, err := strconv.Atoi(loginRate)
		if err != nil || n < 0 || n > 60_000 {
			errs = append(errs, errors.New("STRONGROOM_LOGIN_RATE must be a number of logins per minute from 0 (no limit) to 60000"))
		}
		c.LoginRate = n
	}
	var env, admins, cost string
	str("STRONGROOM_ENV", &env)
	str("STRONGROOM_ADMINS", &admins)
	if admins != "" {
		// It let anyone who registered a listed name first become an
		// administrator. Refusing to start beats silently ignoring it.
		errs = append(errs, errors.New("STRONGROOM_ADMINS is no longer read: registering never makes an administrator; "+
			"grant the role to an existing account with \"strongroom admin grant USERNAME\", then unset STRONGROOM_ADMINS"))
	}
	str("STRONGROOM_BCRYPT_COST", &cost)
	switch env = strings.ToLower(strings.TrimSpace(env)); env {
	case "production":
		c.Production = true
	case "", "development":
	default:
		// A typo ("prod") must not start a production server with
		// generated secrets.
		errs = append(errs, fmt.Errorf("STRONGROOM_ENV must be production or development (or unset), not %q", env))
	}
	if cost != "" {
		n, err := strconv.Atoi(cost)
		if err != nil || n < password.MinCost || n > 31 {
			errs = append(errs, fmt.Errorf("STRONGROOM_BCRYPT_COST must be a number from %d to 31", password.MinCost))
		}
		c.BcryptCost = n
	}
	if c.DebugAddr != "" {
		if host, _, err := net.SplitHostPort(c.DebugAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			errs = append(errs, errors.New("STRONGROOM_DEBUG_ADDR must be a loopback address such as 127.0.0.1:6060"))
		}
	}
	if err := c.checkMetricsAddr(); err != nil {
		errs = append(errs, err)
	}
	if c.JWTSecret.IsSet() && c.JWTSecret.Len() < 32 {
		errs = append(errs, errors.New("JWT_SECRET is too short: use at least 32 characters (openssl rand -base64 32)"))
	}
	if c.Pepper.IsSet() && c.Pepper.Len() < 16 {
		errs = append(errs, errors.New("PEPPER is too short: use at least 16 characters (openssl rand -base64 16)"))
	}
	if c.JWTSecret.IsSet() && c.JWTSecret.Equal(c.Pepper) {
		// One secret doing two jobs: whoever learns it (from a token's
		// signing key, say) holds the pepper too.
		errs = append(errs, errors.New("JWT_SECRET and PEPPER are the same: give each its own random value"))
	}
	if c.Production && (!c.JWTSecret.IsSet() || !c.Pepper.IsSet()) {
		errs = append(errs, errors.New("STRONGROOM_ENV=production needs JWT_SECRET and PEPPER set"))
	}
	if !vaultSetup && c.VaultAddr != "" && !c.VaultToken.IsSet() && (c.VaultRoleID == "" || !c.VaultSecretID.IsSet()) {
		errs = append(errs, errors.New("VAULT_ADDR is set: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID"))
	}
	return c, errors.Join(errs...)
}

// parseBytes reads a size in bytes, with an optional KiB, MiB or GiB.
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = strings.TrimSpace(n), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

// secretsFile holds the secrets generated on the embedded default.
const secretsFile = "secrets.json"

// fillSecrets generates a missing JWT_SECRET or PEPPER once and keeps it in
// the data dir (0600), so tokens and passwords survive a restart. It
// returns the names it generated.
func (c *Config) fillSecrets() ([]string, error) {
	if c.JWTSecret.IsSet() && c.Pepper.IsSet() {
		return nil, nil
	}
	path := filepath.Join(c.DataDir, secretsFile)
	saved := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON", path)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var made []string
	for name, dst := range map[string]*secret.Value{"JWT_SECRET": &c.JWTSecret, "PEPPER": &c.Pepper} {
		if dst.IsSet() {
			continue
		}
		if v := saved[name]; v != "" {
			*dst = secret.New(v)
			continue
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		*dst = secret.New(base64.StdEncoding.EncodeToString(b[:]))
		saved[name] = dst.Reveal()
		made = append(made, name)
	}
	if len(made) == 0 {
		return nil, nil
	}
	b, _ := json.MarshalIndent(saved, "", "  ")
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return made, nil
}

// checkMetricsAddr refuses a metrics address that is not host:port, or
// that is the API's or the debug server's: metrics are served on a
// listener of their own, never where the public is served.
func (c *Config) checkMetricsAddr() error {
	if c.MetricsAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
		return errors.New("STRONGROOM_METRICS_ADDR must be host:port, such as 127.0.0.1:9464 or 10.0.0.5:9464")
	}
	if sameListener(c.MetricsAddr, c.Addr) {
		return fmt.Errorf("STRONGROOM_METRICS_ADDR must differ from the API's address %s: metrics are never served on the public port", c.Addr)
	}
	if c.DebugAddr != "" && sameListener(c.MetricsAddr, c.DebugAddr) {
		return errors.New("STRONGROOM_METRICS_ADDR must differ from STRONGROOM_DEBUG_ADDR")
	}
	return nil
}

// sameListener reports whether two listen addresses would take the same
// socket: the same port (0, a free port, never clashes), and the same
// host, or either on every interface (an empty host, 0.0.0.0 or ::).
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return false
	}
	na, errA := net.LookupPort("tcp", pa)
	nb, errB := net.LookupPort("tcp", pb)
	if errA != nil || errB != nil || na != nb || na == 0 {
		return false
	}
	wildcard := func(h string) bool { ip := net.ParseIP(h); return h == "" || ip != nil && ip.IsUnspecified() }
	if wildcard(ha) || wildcard(hb) {
		return true
	}
	ia, ib := net.ParseIP(ha), net.ParseIP(hb)
	if ia != nil && ib != nil {
		return ia.Equal(ib)
	}
	return strings.EqualFold(ha, hb)
}

// appName is the name users see: the relying party of their passkeys.
const appName = "Strongroom"

// publicURL is STRONGROOM_PUBLIC_URL, or else http://localhost and the
// port of listening (the address the server listens on): a browser on the
// same machine may make passkeys for it.
func (c *Config) publicURL(listening string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	_, port, err := net.SplitHostPort(listening)
	if err != nil {
		port = "8000"
	}
	return "http://localhost:" + port
}
