# Vault for the Compose stack: a real server (not dev mode), its storage on
# the vault-data volume, so the Transit master key survives restarts. It
# starts sealed; the vault-setup service initializes and unseals it.
storage "file" {
  path = "/vault/file"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  # Plain HTTP inside the Compose network and on 127.0.0.1 only. In
  # production give Vault a certificate (tls_cert_file, tls_key_file).
  tls_disable = true
}

api_addr      = "http://vault:8200"
ui            = true
# The container gets no IPC_LOCK capability; memory locking needs it.
disable_mlock = true
# One node: no cluster listener beside the API port.
disable_clustering = true
