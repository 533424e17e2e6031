FROM {{BASE}}
RUN apt-get update && apt-get install -y openjdk-17-jdk-headless maven git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY settings.xml /etc/maven/settings.xml
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 MAVEN_HOME=/usr/share/maven
WORKDIR /root
CMD ["/bin/bash"]
