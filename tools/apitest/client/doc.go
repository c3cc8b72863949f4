// Package client is a Strongroom client generated from the server's
// OpenAPI document by oapi-codegen, afresh by every run of the test
// command (client.gen.go is not kept in the repository): a document that
// generators cannot read, or that no longer describes what the tests do,
// breaks the build.
package client
