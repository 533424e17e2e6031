FROM {{BASE}}
RUN apt-get update && apt-get install -y bash ca-certificates git procps dumb-init \
 && rm -rf /var/lib/apt/lists/* \
 && useradd -u 100 -m -d /home/gitlab-runner -s /bin/bash gitlab-runner \
 && mkdir -p /etc/gitlab-runner /home/gitlab-runner/.gitlab-runner \
 && chown -R 100 /etc/gitlab-runner /home/gitlab-runner
COPY gitlab-runner /usr/bin/gitlab-runner
COPY entrypoint /entrypoint
ENTRYPOINT ["/entrypoint"]
CMD ["run", "--user=gitlab-runner", "--working-directory=/home/gitlab-runner"]
