FROM {{BASE}}
COPY coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
