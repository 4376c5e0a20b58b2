# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the sourcing script
# Test servers for the remote source, on loopback only (sourced, bash).
#
# Every server runs as a child of the test, on a free port, with its
# configuration, logs, pid and temporary files under $SRV_DIR; srv_cleanup
# stops exactly the processes started here.
SERVERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRV_DIR=${SRV_DIR:?set SRV_DIR to a private temporary folder first}
SRV_PIDS=()
# shellcheck source=../wait.sh
source "$SERVERS_DIR/../wait.sh"

srv_cleanup() {
	local p
	for p in "${SRV_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${SRV_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	SRV_PIDS=()
}

# A port nobody listens on now (the kernel's choice).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: until something accepts on 127.0.0.1:PORT, or PID
# exits.
wait_port() {
	local port=$1 pid=$2
	wait_until --pid "$pid" "a server listening on 127.0.0.1:$port" listening "$port" || {
		echo "server (pid $pid) exited before listening on $port" >&2
		return 1
	}
}

# listening PORT: something accepts connections on 127.0.0.1:PORT (a
# loopback connect is answered by the kernel at once, refused or accepted).
listening() {
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$1" 2>/dev/null
}

# make_ca: a CA and a server certificate for 127.0.0.1 and localhost;
# sets CA_FILE, CERT_FILE, KEY_FILE.
make_ca() {
	local d=$SRV_DIR/pki
	mkdir -p "$d"
	CA_FILE=$d/ca.pem CERT_FILE=$d/server.pem KEY_FILE=$d/server.key
	[ -f "$CERT_FILE" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=xvafs test CA" \
		-keyout "$d/ca.key" -out "$CA_FILE" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$KEY_FILE" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$CA_FILE" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext" -out "$CERT_FILE" 2>/dev/null
}

# nginx_start ROOT: serves folder ROOT over HTTP/1.1 on NGINX_PORT and
# over HTTPS (HTTP/2 by ALPN) on NGINX_TLS_PORT, in the foreground as a
# child; sets NGINX_PID.
nginx_start() {
	local root=$1 d=$SRV_DIR/nginx
	make_ca
	mkdir -p "$d/logs" "$d/tmp"
	NGINX_PORT=${NGINX_PORT:-$(free_port)}
	NGINX_TLS_PORT=${NGINX_TLS_PORT:-$(free_port)}
	# The test's folders are private (mktemp -d): the workers run as the
	# test's user, not nginx's default nobody.
	local user=""
	[ "$(id -u)" = 0 ] && user="user root root;"
	cat >"$d/nginx.conf" <<CONF
$user
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	log_format ranges '\$http_range';
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	types { application/octet-stream xva; }
	default_type application/octet-stream;
	sendfile on;
	keepalive_requests 100000;
	http2_max_concurrent_streams 256;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		listen 127.0.0.1:$NGINX_TLS_PORT ssl http2;
		ssl_certificate $CERT_FILE;
		ssl_certificate_key $KEY_FILE;
		root $root;
		# For the tests: a refusal, and a server that ignores ranges.
		location /forbidden/ { return 403; }
		location /norange/ { max_ranges 0; }
		# The ranges asked of objects here, one line a request.
		location /logged/ { access_log $d/logs/ranges.log ranges; }
	}
}
CONF
	nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' 2>>"$d/logs/stderr" &
	NGINX_PID=$!
	SRV_PIDS+=("$NGINX_PID")
	wait_port "$NGINX_PORT" "$NGINX_PID" && wait_port "$NGINX_TLS_PORT" "$NGINX_PID"
}

# nginx_stop: stops it (its ports stay known, for a restart).
nginx_stop() {
	kill "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
}

# s3sig_start PORT ROOT [options]: the SigV4-checking S3 endpoint on PORT
# ("" for a free one); sets S3SIG_PORT, S3SIG_PID and S3SIG_URL. Options go
# to s3sig.py. It runs on Debian's python3 (S3SIG_PYTHON), which has
# python3-botocore.
S3SIG_PYTHON=${S3SIG_PYTHON:-/usr/bin/python3}
[ -x "$S3SIG_PYTHON" ] || S3SIG_PYTHON=python3
s3sig_start() {
	local root=$2
	S3SIG_PORT=${1:-$(free_port)}
	shift 2
	"$S3SIG_PYTHON" "$SERVERS_DIR/s3sig.py" --port "$S3SIG_PORT" --root "$root" "$@" \
		2>>"$SRV_DIR/s3sig.log" &
	S3SIG_PID=$!
	SRV_PIDS+=("$S3SIG_PID")
	S3SIG_URL=http://127.0.0.1:$S3SIG_PORT
	wait_port "$S3SIG_PORT" "$S3SIG_PID"
}

s3sig_stop() {
	kill "$S3SIG_PID" 2>/dev/null || true
	wait "$S3SIG_PID" 2>/dev/null || true
}

# s3rver_start: s3rver 3.7.1 (installed by npm ci in this folder) on
# S3RVER_PORT with its data under $SRV_DIR; sets S3RVER_PID, S3RVER_URL.
s3rver_start() {
	local bin=$SERVERS_DIR/node_modules/.bin/s3rver
	S3RVER_PORT=${S3RVER_PORT:-$(free_port)}
	mkdir -p "$SRV_DIR/s3rver"
	"$bin" --address 127.0.0.1 --port "$S3RVER_PORT" --directory "$SRV_DIR/s3rver" \
		--silent >>"$SRV_DIR/s3rver.log" 2>&1 &
	S3RVER_PID=$!
	SRV_PIDS+=("$S3RVER_PID")
	S3RVER_URL=http://127.0.0.1:$S3RVER_PORT
	wait_port "$S3RVER_PORT" "$S3RVER_PID"
}

# delayproxy_start TARGET_PORT MS: a TCP proxy adding MS milliseconds each
# way; sets PROXY_PORT and PROXY_PID.
delayproxy_start() {
	local target=$1 ms=$2
	PROXY_PORT=$(free_port)
	python3 "$SERVERS_DIR/delayproxy.py" --listen "$PROXY_PORT" --target "$target" \
		--delay-ms "$ms" 2>>"$SRV_DIR/delayproxy.log" &
	PROXY_PID=$!
	SRV_PIDS+=("$PROXY_PID")
	wait_port "$PROXY_PORT" "$PROXY_PID"
}

# What each kind of server needs; prints what is missing.
missing_nginx() { command -v nginx >/dev/null || echo "nginx (Debian nginx-light)"; command -v openssl >/dev/null || echo "openssl"; }
missing_botocore() { "$S3SIG_PYTHON" -c 'import botocore' 2>/dev/null || echo "botocore (Debian python3-botocore)"; }
missing_s3rver() {
	command -v node >/dev/null || echo "node (Debian nodejs)"
	[ -x "$SERVERS_DIR/node_modules/.bin/s3rver" ] || echo "s3rver (npm ci in tests/servers)"
	[ -x /usr/bin/aws ] || echo "the AWS CLI (Debian awscli)"
}
