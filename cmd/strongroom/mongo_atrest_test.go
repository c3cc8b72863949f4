package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestMongoCollectionsAtRest runs the walk-through on the MongoDB store,
// then reads the raw collections with the driver: the seed's field names
// and BSON types are there, and no plaintext value, data key or master key
// is in any document of any collection.
func TestMongoCollectionsAtRest(t *testing.T) {
	t.Parallel()
	cfg := storeConfig(t, "mongodb")
	s := startServer(t, cfg)
	walkthrough(t, s)
	secrets := secretsAtRest(t, s)
	s.do("POST", "/login", "", map[string]string{"username": mistypedName, "password": "Wrong!pass1"}).want(t, 401, "a password as the name")
	secrets = append(secrets, forms([]byte(mistypedName))...)

	ctx := context.Background()
	client, err := mdb.Connect(options.Client().ApplyURI(cfg.MongoDBURL.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database(cfg.DBName)

	collections := mongoDocuments(t, cfg)
	for _, want := range []string{"users", "sensitive_data", "user_keys", "key_rotation"} {
		if _, ok := collections[want]; !ok {
			t.Fatalf("the collections lack %s", want)
		}
	}
	for name, docs := range collections {
		for _, d := range docs {
			ext, _ := bson.MarshalExtJSON(d, false, false)
			for _, sec := range secrets {
				if bytes.Contains(d, sec) || bytes.Contains(ext, sec) {
					t.Errorf("collection %s holds a secret in clear (%d bytes)", name, len(sec))
				}
			}
		}
	}

	// users: the seed's fields with the seed's types.
	var user bson.Raw
	if err := db.Collection("users").FindOne(ctx, bson.D{{Key: "username", Value: seedUser}}).Decode(&user); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, "users", user, map[string]bson.Type{
		"_id": bson.TypeObjectID, "username": bson.TypeString, "email": bson.TypeString,
		"hashed_password": bson.TypeString, "salt": bson.TypeString, "failed_attempts": bson.TypeInt32,
		"two_factor_enabled": bson.TypeBoolean, "totp_secret": bson.TypeNull, "last_failed_attempt_time": bson.TypeNull,
	})
	if !regexp.MustCompile(`^\$2a\$04\$`).MatchString(user.Lookup("hashed_password").StringValue()) ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(user.Lookup("salt").StringValue()) ||
		!user.Lookup("two_factor_enabled").Boolean() {
		t.Fatalf("users document %s", user)
	}
	uid := user.Lookup("_id").ObjectID()

	// sensitive_data: ObjectIds and a versioned hex encrypted_value.
	var rec bson.Raw
	if err := db.Collection("sensitive_data").FindOne(ctx, bson.D{{Key: "user_id", Value: uid}}).Decode(&rec); err != nil {
		t.Fatalf("no record found by user_id ObjectId: %v", err)
	}
	wantTypes(t, "sensitive_data", rec, map[string]bson.Type{
		"_id": bson.TypeObjectID, "user_id": bson.TypeObjectID, "data_type": bson.TypeString, "encrypted_value": bson.TypeString,
	})
	if !regexp.MustCompile(`^01[0-9a-f]+$`).MatchString(rec.Lookup("encrypted_value").StringValue()) {
		t.Fatalf("encrypted_value is not versioned hex: %s", rec)
	}

	// user_keys: the wrapped key under the rotated version, keyed by user.
	var key bson.Raw
	if err := db.Collection("user_keys").FindOne(ctx, bson.D{{Key: "_id", Value: uid}}).Decode(&key); err != nil {
		t.Fatal(err)
	}
	if key.Lookup("kek_version").Int32() != 2 || !regexp.MustCompile(`^sr:v2:`).MatchString(key.Lookup("wrapped_dek").StringValue()) {
		t.Fatalf("user_keys document %s", key)
	}

	// Indexes: unique username and email.
	for _, ix := range []string{"username_1", "email_1"} {
		if !hasUniqueIndex(t, db.Collection("users"), ix) {
			t.Errorf("users has no unique index %s", ix)
		}
	}
}

func wantTypes(t *testing.T, coll string, doc bson.Raw, want map[string]bson.Type) {
	t.Helper()
	for field, typ := range want {
		v, err := doc.LookupErr(field)
		if err != nil {
			t.Errorf("%s: no field %s", coll, field)
			continue
		}
		if v.Type != typ {
			t.Errorf("%s.%s is %v, want %v", coll, field, v.Type, typ)
		}
	}
}

func hasUniqueIndex(t *testing.T, c *mdb.Collection, name string) bool {
	cur, err := c.Indexes().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var specs []bson.M
	if err := cur.All(context.Background(), &specs); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if s["name"] == name && s["unique"] == true {
			return true
		}
	}
	return false
}

// mongoDocuments reads every document of every collection of cfg's
// database, by collection, as an outsider with the driver would.
func mongoDocuments(t *testing.T, cfg Config) map[string][]bson.Raw {
	t.Helper()
	ctx := context.Background()
	c, err := mdb.Connect(options.Client().ApplyURI(cfg.MongoDBURL.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	db := c.Database(cfg.DBName)
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]bson.Raw{}
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		out[name] = docs
	}
	return out
}
