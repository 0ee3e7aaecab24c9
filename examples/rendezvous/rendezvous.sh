# The rendezvous of a Suanli job that spans sites, for any program: source this file in a
# part's command (it needs curl). SUANLI_RENDEZVOUS_URL and SUANLI_RENDEZVOUS_TOKEN are set
# by the agent for every part of such a job.
#
#   . rendezvous.sh
#   suanli_publish "$(suanli_address):$(suanli_first_port)"   # where this part listens (its site's declared addresses and ports)
#   suanli_barrier > members.json          # waits until every part published; the membership as JSON
#
# The membership: {"generation", "ready", "index" (this part), "members": [{"index", "site",
# "endpoints", "replicas", "share"}], "declared" (this site's addresses and ports)}.

suanli_rendezvous_call() {
  curl -sS --fail-with-body -X "$1" -H "authorization: Bearer $SUANLI_RENDEZVOUS_TOKEN" \
    -H 'content-type: application/json' ${2:+--data "$2"} "$SUANLI_RENDEZVOUS_URL$3"
}

# suanli_address, suanli_first_port: this site's first declared address and port (where this part may listen).
suanli_address() {
  suanli_rendezvous_call GET '' '' | sed -n 's/.*"declared":{"addresses":\["\([^"]*\)".*/\1/p'
}
suanli_first_port() {
  suanli_rendezvous_call GET '' '' | sed -n 's/.*"declared":{[^}]*"ports":{"from":\([0-9]*\).*/\1/p'
}

# suanli_publish HOST:PORT...: says where this part listens.
suanli_publish() {
  endpoints=$(printf '"%s",' "$@")
  suanli_rendezvous_call POST "{\"endpoints\":[${endpoints%,}]}" /publish > /dev/null
}

# suanli_barrier [SECONDS]: waits (up to SECONDS, default 300) until every part published; prints the membership.
suanli_barrier() {
  deadline=$(( $(date +%s) + ${1:-300} ))
  while :; do
    m=$(suanli_rendezvous_call POST '{"wait_s":30}' /barrier) || return 1
    case "$m" in *'"ready":true'*) printf '%s\n' "$m"; return 0 ;; esac
    [ "$(date +%s)" -lt "$deadline" ] || { echo 'rendezvous: the other parts did not all publish in time' >&2; return 1; }
  done
}
