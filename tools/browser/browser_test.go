// Package browser drives the web app in a real browser (Debian's
// chromium, headless, through the DevTools protocol with chromedp), as
// its users would: the pages, the session cookie and the refusals a
// browser relies on.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium for the test and returns its
// context. Without Chromium the test fails: it proves the web app in a
// real browser, and scripts/test.sh installs Debian's.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (scripts/test.sh installs Debian's: apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container
		chromedp.WindowSize(420, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sameOriginOnly fails the test, at its end, if a page in ctx asked for
// anything (a stylesheet, an image, a font, a form's target) from an
// origin other than base's (scheme, host and port): the app loads nothing
// from elsewhere. Chromium reports a request before the page's
// Content-Security-Policy may block it, so a reference to another origin
// fails here even though the policy would stop the load.
func sameOriginOnly(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	var (
		mu     sync.Mutex
		seen   int
		others []string
	)
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			defer mu.Unlock()
			seen++
			if originOf(e.Request.URL) != base {
				others = append(others, e.Request.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if seen == 0 {
			t.Error("no request was seen: the check of origins saw nothing")
		}
		if len(others) > 0 {
			t.Errorf("requests to another origin than %s: %v", base, others)
		}
	})
}

// originOf is u's origin as scheme://host:port, or u itself if it has
// none (data:, about:blank).
func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return u
	}
	return p.Scheme + "://" + p.Host
}

// shot is for each main page: it checks the page's accessibility
// (checkAccessible) and saves a screenshot of it as name.png in
// $STRONGROOM_SCREENSHOTS, if set (the README's come from there).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	checkAccessible(t, ctx, name)
	dir := os.Getenv("STRONGROOM_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// do runs the steps, and on failure shows the page.
func do(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage: %s", step, err, page(ctx))
	}
}

// get runs the action and returns its value.
func get[T any](t *testing.T, ctx context.Context, step string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v\npage: %s", step, err, page(ctx))
	}
	return v
}

func page(ctx context.Context) string {
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	return html
}

// signUpAndIn registers username and signs in, through the pages.
func signUpAndIn(t *testing.T, ctx context.Context, base, username string, shots bool) {
	t.Helper()
	do(t, ctx, "open the app",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
	if shots {
		shot(t, ctx, "login")
	}
	do(t, ctx, "the registration page",
		chromedp.Click(chromedp.CSS(`a[href="/app/register"]`)),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#email"), username+"@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "Corr3ct-horse-battery"),
	)
	if shots {
		shot(t, ctx, "register")
	}
	do(t, ctx, "register and sign in",
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
		chromedp.SendKeys(chromedp.CSS("#password"), "Corr3ct-horse-battery"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#data_type")),
	)
}

// A person signs up, signs in, adds a card number, sees it only when
// they ask, gives it a new value, deletes it and signs out, in the browser; the session's token
// is never readable by the page's script.
func TestRecordsInTheBrowser(t *testing.T) {
	base := startServer(t)
	ctx := browser(t)
	sameOriginOnly(t, ctx, base)
	const card = "4111111111111111"
	signUpAndIn(t, ctx, base, "alice", true)

	if c := get(t, ctx, "document.cookie", chromedp.Evaluate[string]("document.cookie")); c != "" {
		t.Fatalf("the page's script reads cookies: %q", c)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	if cs := res.Cookies; len(cs) != 1 || cs[0].Name != "__Host-strongroom" || !cs[0].HTTPOnly || !cs[0].Secure ||
		cs[0].SameSite != network.CookieSameSiteStrict || cs[0].Path != "/" {
		t.Fatalf("cookies: %+v", cs)
	}

	do(t, ctx, "add a record",
		chromedp.SendKeys(chromedp.CSS("#data_type"), "card_number"),
		chromedp.SendKeys(chromedp.CSS("#value"), card),
		chromedp.Click(chromedp.CSS(`form[action="/app/records"] button`)),
		chromedp.WaitVisible(chromedp.CSS("table")),
	)
	shot(t, ctx, "records")
	if list := get(t, ctx, "the list", chromedp.OuterHTML(chromedp.CSS("html"))); !strings.Contains(list, "card_number") || strings.Contains(list, card) {
		t.Fatalf("the list should name the record and hide its value: %s", list)
	}
	do(t, ctx, "show the value",
		chromedp.Click(chromedp.CSS(`button[aria-label^="Show the card_number"]`)),
		chromedp.WaitVisible(chromedp.CSS("#shown-value")),
	)
	shot(t, ctx, "record-shown")
	if shown := get(t, ctx, "the value", chromedp.Text(chromedp.CSS("#shown-value"))); shown != card {
		t.Fatalf("shown %q, want %q", shown, card)
	}
	const newCard = "4000000000000002"
	do(t, ctx, "the edit page",
		chromedp.Click(chromedp.CSS(`a[aria-label^="Edit the card_number"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/edit"] #value`)),
	)
	if typ := get(t, ctx, "the type", chromedp.Value(chromedp.CSS("#data_type"))); typ != "card_number" {
		t.Fatalf("the edit page's type is %q", typ)
	}
	if page := get(t, ctx, "the edit page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(page, card) {
		t.Fatalf("the edit page shows the value: %s", page)
	}
	do(t, ctx, "type the new value",
		chromedp.SendKeys(chromedp.CSS("#value"), newCard),
	)
	shot(t, ctx, "record-edit")
	do(t, ctx, "save it and show it",
		chromedp.Click(chromedp.CSS(`form[action$="/edit"] button`)),
		chromedp.WaitVisible(chromedp.CSS("table")),
		chromedp.Click(chromedp.CSS(`button[aria-label^="Show the card_number"]`)),
		chromedp.WaitVisible(chromedp.CSS("#shown-value")),
	)
	if shown := get(t, ctx, "the new value", chromedp.Text(chromedp.CSS("#shown-value"))); shown != newCard {
		t.Fatalf("shown %q after the edit, want %q", shown, newCard)
	}
	do(t, ctx, "delete it",
		chromedp.Click(chromedp.CSS(`button[aria-label^="Delete the card_number"]`)),
		chromedp.WaitNotPresent(chromedp.CSS("table")),
	)
	if after := get(t, ctx, "after the deletion", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(after, "No records yet") {
		t.Fatalf("after the deletion: %s", after)
	}
	do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS("header button")),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.Navigate(base+"/app/records"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
	if loc := get(t, ctx, "where the records went", chromedp.Location()); !strings.HasSuffix(loc, "/app/login") {
		t.Fatalf("after signing out, the records page went to %s", loc)
	}
	// Signing in with the keyboard alone: Tab past the header's link to
	// the username, Tab to the password, Enter.
	do(t, ctx, "sign in with the keyboard",
		chromedp.Navigate(base+"/app/login"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.KeyEvent("\t\t"),
		chromedp.KeyEvent("alice"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("Corr3ct-horse-battery"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#data_type")),
	)
	if who := get(t, ctx, "who is signed in", chromedp.Text(chromedp.CSS("#signed-in-as"))); who != "alice" {
		t.Fatalf("signed in with the keyboard as %q", who)
	}
}

// A page on another site (another loopback address: another origin and
// another site) that posts a form to the app while its user is signed in
// adds nothing: the browser does not send the session cookie
// (SameSite=Strict) and the app refuses a post from another origin.
func TestCrossSiteFormRefused(t *testing.T) {
	base := startServer(t)
	ctx := browser(t)
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/app/records">
<input name="data_type" value="planted"><input name="value" value="4000000000000002"></form>
<script>document.getElementById("f").submit()</script>`, base)
	})}
	go func() { _ = evil.Serve(l) }()
	t.Cleanup(func() { _ = evil.Close() })

	signUpAndIn(t, ctx, base, "bob", false)
	do(t, ctx, "visit the other site",
		chromedp.Navigate("http://"+l.Addr().String()+"/"),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if landed := get(t, ctx, "the answer", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(landed, "another site") {
		t.Fatalf("the cross-site post was answered with: %s", landed)
	}
	do(t, ctx, "the records",
		chromedp.Navigate(base+"/app/records"),
		chromedp.WaitVisible(chromedp.CSS("#data_type")),
	)
	if list := get(t, ctx, "the list", chromedp.Text(chromedp.CSS("main"))); strings.Contains(list, "planted") || !strings.Contains(list, "No records yet") {
		t.Fatalf("the other site's post added a record: %s", list)
	}
}

// oathtool computes the current code of a base32 TOTP key, independently
// of Strongroom's own code (Debian's oathtool, which scripts/test.sh
// installs).
func oathtool(t *testing.T, secret string) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// scanQR reads the QR code the page shows (a screenshot of the image, as
// a phone's camera would see it) with zbarimg, Debian's zbar-tools, which
// scripts/test.sh installs, and returns its text.
func scanQR(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	png := get(t, ctx, "a picture of the QR code", chromedp.Screenshot(chromedp.CSS(sel)))
	f := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(f, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", f).Output()
	if err != nil {
		t.Fatalf("zbarimg (scripts/test.sh installs Debian's zbar-tools): %v", err)
	}
	return strings.TrimSpace(string(out))
}

// A person turns on an authenticator app by scanning the QR code (the
// codes come from the secret the QR code holds, which is the key the page
// shows as text too), is shown their recovery codes once, signs out, and
// signs back in with their password and the app's code.
func TestTwoFactorInTheBrowser(t *testing.T) {
	base := startServer(t)
	ctx := browser(t)
	sameOriginOnly(t, ctx, base)
	signUpAndIn(t, ctx, base, "carol", false)
	do(t, ctx, "the two-factor page",
		chromedp.Click(chromedp.CSS(`a[href="/app/2fa"]`)),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), "Corr3ct-horse-battery"),
		chromedp.Click(chromedp.CSS(`form[action="/app/2fa/setup"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#totp-secret")),
		chromedp.WaitVisible(chromedp.CSS("img.qr")),
	)
	if ok := get(t, ctx, "the QR code", chromedp.Evaluate[bool](`(async () => { const i = document.querySelector("img.qr"); await i.decode(); return i.naturalWidth > 0; })()`, chromedp.EvalAwaitPromise)); !ok {
		t.Fatal("the QR code did not load")
	}
	shot(t, ctx, "2fa-setup")
	scanned, err := url.Parse(scanQR(t, ctx, "img.qr"))
	if err != nil || scanned.Scheme != "otpauth" || scanned.Host != "totp" || scanned.Query().Get("issuer") != "Strongroom" ||
		!strings.HasSuffix(scanned.Path, ":carol") {
		t.Fatalf("the QR code holds %v (%v)", scanned, err)
	}
	secret := scanned.Query().Get("secret")
	if shown := get(t, ctx, "the key", chromedp.Text(chromedp.CSS("#totp-secret"))); shown != secret {
		t.Fatalf("the key shown %q is not the QR code's %q", shown, secret)
	}
	do(t, ctx, "confirm",
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, secret)),
		chromedp.Click(chromedp.CSS(`form[action="/app/2fa/confirm"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
	)
	shot(t, ctx, "2fa-codes")
	if n := get(t, ctx, "the recovery codes", chromedp.Evaluate[int](`document.querySelectorAll("#recovery-codes li").length`)); n != 10 {
		t.Fatalf("%d recovery codes shown", n)
	}
	do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS("header button")),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
	// A code is good once: the next sign-in needs the next 30-second step's.
	time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(30*time.Second + 500*time.Millisecond)))
	do(t, ctx, "sign in: the password",
		chromedp.SendKeys(chromedp.CSS("#username"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#password"), "Corr3ct-horse-battery"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	shot(t, ctx, "sign-in-code")
	do(t, ctx, "sign in: the app's code",
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, secret)),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#data_type")),
	)
	if who := get(t, ctx, "who", chromedp.Text(chromedp.CSS("#signed-in-as"))); who != "carol" {
		t.Fatalf("signed in as %q", who)
	}
}

// apiLogin signs username in through the JSON API, as another device
// would, and returns its bearer token.
func apiLogin(t *testing.T, base, username, password string) string {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
	res, err := http.Post(base+"/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("API login: %d %v", res.StatusCode, err)
	}
	return out.AccessToken
}

// apiStatus is the status of GET path with the bearer token.
func apiStatus(t *testing.T, base, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A person sees where they are signed in and ends another device's
// session, sees their security activity, changes their password, and
// deletes their account, from the account page.
func TestAccountInTheBrowser(t *testing.T) {
	base := startServer(t)
	ctx := browser(t)
	sameOriginOnly(t, ctx, base)
	signUpAndIn(t, ctx, base, "dora", false)
	phone := apiLogin(t, base, "dora", "Corr3ct-horse-battery")
	do(t, ctx, "the account page",
		chromedp.Click(chromedp.CSS(`a[href="/app/account"]`)),
		chromedp.WaitVisible(chromedp.CSS("#sessions")),
	)
	shot(t, ctx, "account")
	if n := get(t, ctx, "sessions", chromedp.Evaluate[int](`document.querySelectorAll("#sessions tbody tr").length`)); n != 2 {
		t.Fatalf("%d sessions listed, want 2", n)
	}
	if act := get(t, ctx, "activity", chromedp.Text(chromedp.CSS("#activity"))); !strings.Contains(act, "login.success") {
		t.Fatalf("activity: %s", act)
	}
	do(t, ctx, "end the other session",
		chromedp.Click(chromedp.CSS(`#sessions button[aria-label^="End the session"]`)),
	)
	waitText(t, ctx, "p.notice", "session is ended")
	if st := apiStatus(t, base, "/sessions", phone); st != 401 {
		t.Fatalf("the ended session answers %d", st)
	}
	do(t, ctx, "change the password",
		chromedp.SendKeys(chromedp.CSS("#current"), "Corr3ct-horse-battery"),
		chromedp.SendKeys(chromedp.CSS("#new"), "Anoth3r-horse-battery"),
		chromedp.Click(chromedp.CSS(`form[action="/app/password"] button`)),
	)
	waitText(t, ctx, "p.notice", "password is changed")
	apiLogin(t, base, "dora", "Anoth3r-horse-battery")
	do(t, ctx, "delete the account",
		chromedp.SendKeys(chromedp.CSS("#del-password"), "Anoth3r-horse-battery"),
		chromedp.Click(chromedp.CSS(`form[action="/app/account/delete"] button`)),
	)
	waitText(t, ctx, "p.notice", "account and its records are deleted")
	body := `{"username":"dora","password":"Anoth3r-horse-battery"}`
	res, err := http.Post(base+"/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("signing in to the deleted account: %d", res.StatusCode)
	}
}

// waitText waits, up to 10 s, for the element sel to hold text: a form's
// answer replaces a page that may have had the same element.
func waitText(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	js := fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// An evaluation that meets the navigation fails; the next one runs
		// in the new page.
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js)); err == nil {
			if got = v; strings.Contains(got, text) {
				return
			}
		}
	}
	t.Fatalf("%s says %q, not %q; page: %s", sel, got, text, page(ctx))
}
