FROM {{BASE}}
RUN apt-get update && apt-get install -y git ca-certificates \
 && cd /tmp && apt-get download docker.io \
 && dpkg-deb --fsys-tarfile docker.io_*.deb | tar -x -C / ./usr/bin/docker \
 && rm -f /tmp/*.deb && rm -rf /var/lib/apt/lists/* && docker --version
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["sh"]
