FROM {{BASE}}
RUN apt-get update && apt-get install -y bash ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY gitlab-runner-helper /usr/bin/gitlab-runner-helper
CMD ["sh"]
