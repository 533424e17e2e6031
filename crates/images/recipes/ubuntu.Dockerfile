FROM {{BASE}}
RUN apt-get update && apt-get install -y bash coreutils sed grep gawk git ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
CMD ["/bin/bash"]
