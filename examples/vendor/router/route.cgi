#!/bin/sh
# Fetches http://SERVICE/ for /cgi-bin/route?SERVICE: the router finds backends by service name.
echo "Content-Type: text/plain"
echo
svc=${QUERY_STRING%%&*}
case $svc in
  '' | *[!A-Za-z0-9_-]*) echo "bad service name"; exit 0 ;;
esac
timeout 3 wget -q -O- "http://$svc/" || echo "unreachable: $svc"
