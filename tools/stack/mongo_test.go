package stack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// checkMongoAuth plays a local user of the Docker host, who reaches every
// container's address whatever the networks say: at MongoDB's address,
// without the password (none, or a wrong one), no command that reads or
// writes data gets through. With the stack's password it does, so the
// probe is known to reach the server.
func checkMongoAuth(t *testing.T, s *Stack, username string) {
	mongoID := s.Container(t, "mongo")
	ips := strings.Fields(string(s.Docker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", mongoID)))
	if len(ips) == 0 {
		t.Fatal("MongoDB's container has no address")
	}
	password := s.secret(t, "mongo_password")
	probe := func(cred *options.Credential) (int64, error) {
		opts := options.Client().SetHosts([]string{ips[0] + ":27017"}).SetDirect(true).
			SetTimeout(10 * time.Second).SetServerSelectionTimeout(10 * time.Second)
		if cred != nil {
			opts.SetAuth(*cred)
		}
		c, err := mongo.Connect(opts)
		if err != nil {
			return 0, err
		}
		defer c.Disconnect(context.Background())
		ctx := context.Background()
		if _, err := c.Database("secure_api").Collection("probe").InsertOne(ctx, bson.M{"from": "a host user"}); err != nil {
			return 0, err
		}
		return c.Database("secure_api").Collection("users").CountDocuments(ctx, bson.M{"username": username})
	}
	if n, err := probe(&options.Credential{Username: "strongroom", Password: password, AuthSource: "admin"}); err != nil || n != 1 {
		t.Fatalf("with the stack's password, MongoDB at %s finds %d users named %s (%v): the probe proves nothing", ips[0], n, username, err)
	}
	for what, cred := range map[string]*options.Credential{
		"no credentials":   nil,
		"a wrong password": {Username: "strongroom", Password: password + "x", AuthSource: "admin"},
		"another user":     {Username: "admin", Password: password, AuthSource: "admin"},
	} {
		if n, err := probe(cred); err == nil {
			t.Errorf("with %s, MongoDB at %s let a host user write a document and count %d users", what, ips[0], n)
		} else if !strings.Contains(err.Error(), "Unauthorized") && !strings.Contains(err.Error(), "Authentication failed") {
			t.Errorf("with %s: %v (want a refusal for lack of authentication)", what, err)
		}
	}
}

// secret reads one of the stack's secret files (beside JWT_SECRET_FILE).
func (s *Stack) secret(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(s.JWTSecretFile), name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
