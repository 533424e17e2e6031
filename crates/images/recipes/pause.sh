#!/bin/sh
# A pod sandbox's first process: holds the pod's namespaces until it is told to stop.
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $!
done
