package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// A person adds a passkey in the browser (Chromium's virtual WebAuthn
// authenticator, through the DevTools protocol's WebAuthn domain: a
// platform authenticator that verifies its user), signs out, and signs in
// again with the passkey alone: no username, no password, no code. The
// app is reached as http://localhost (a browser allows WebAuthn only on
// https or localhost, and a relying party's id is a name, not an address),
// which is the server's origin when STRONGROOM_PUBLIC_URL is unset.
func TestPasskeyInTheBrowser(t *testing.T) {
	base := strings.Replace(startServer(t), "127.0.0.1", "localhost", 1)
	ctx := browser(t)
	sameOriginOnly(t, ctx, base)
	do(t, ctx, "open the app", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#password")))
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	auth, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	signUpAndIn(t, ctx, base, "carol", false)

	do(t, ctx, "the passkeys page",
		chromedp.Click(chromedp.CSS(`a[href="/app/passkeys"]`)),
		chromedp.WaitVisible(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("#no-passkeys")),
		chromedp.SendKeys(chromedp.CSS("#pk-name"), "This laptop"),
		chromedp.SendKeys(chromedp.CSS("#pk-password"), "Corr3ct-horse-battery"),
		chromedp.Click(chromedp.CSS("#passkey-add button")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys")),
	)
	shot(t, ctx, "passkeys")
	if list := get(t, ctx, "the list", chromedp.Text(chromedp.CSS("#passkeys"))); !strings.Contains(list, "This laptop") ||
		!strings.Contains(list, "never") {
		t.Fatalf("the passkeys listed: %s", list)
	}
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth.AuthenticatorID})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential || creds.Credentials[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v", creds.Credentials)
	}

	do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS("header button")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login")),
	)
	do(t, ctx, "sign in with the passkey",
		chromedp.Click(chromedp.CSS("#passkey-login button")),
		chromedp.WaitVisible(chromedp.CSS("#data_type")),
	)
	if who := get(t, ctx, "who is signed in", chromedp.Text(chromedp.CSS("#signed-in-as"))); who != "carol" {
		t.Fatalf("signed in as %q", who)
	}
	if c := get(t, ctx, "document.cookie", chromedp.Evaluate[string]("document.cookie")); c != "" {
		t.Fatalf("the page's script reads cookies: %q", c)
	}
	do(t, ctx, "the passkey was used",
		chromedp.Navigate(base+"/app/passkeys"),
		chromedp.WaitVisible(chromedp.CSS("#passkeys")),
	)
	if list := get(t, ctx, "the list", chromedp.Text(chromedp.CSS("#passkeys"))); strings.Contains(list, "never") {
		t.Fatalf("the passkey is not marked used: %s", list)
	}

	// A passkey the browser refuses to use (user verification fails)
	// signs no one in, and the page says why.
	do(t, ctx, "sign out again",
		chromedp.Click(chromedp.CSS("header button")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login")),
	)
	if _, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: auth.AuthenticatorID, IsUserVerified: false}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "a failed verification",
		chromedp.Click(chromedp.CSS("#passkey-login button")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login .passkey-error")),
	)
	if signedIn := get(t, ctx, "signed in?", chromedp.Evaluate[bool](`document.getElementById("signed-in-as") !== null`)); signedIn {
		t.Fatal("a passkey without user verification signed in")
	}
	if msg := get(t, ctx, "the message", chromedp.Text(chromedp.CSS("#passkey-login .passkey-error"))); !strings.Contains(msg, "cancelled") {
		t.Fatalf("the page says %q", msg)
	}
}
