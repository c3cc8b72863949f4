// Strongroom overlay: a stand-in for github.com/okta/okta-sdk-golang/v5,
// which Vault links only for Okta push MFA (vault/login_mfa.go,
// validateOkta). The real SDK is one generated package of 1 051 files that
// takes over a minute of CPU to compile; the tests never use Okta MFA.
module github.com/okta/okta-sdk-golang/v5

go 1.23
