FROM {{BASE}}
COPY pause /pause
ENTRYPOINT ["/pause"]
