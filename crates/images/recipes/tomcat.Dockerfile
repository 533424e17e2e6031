FROM {{BASE}}
RUN apt-get update && apt-get install -y openjdk-17-jre-headless tomcat10 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/tomcat/webapps /usr/local/tomcat/logs /usr/local/tomcat/work /usr/local/tomcat/temp \
 && cp -a /etc/tomcat10 /usr/local/tomcat/conf \
 && ln -s /usr/share/tomcat10/bin /usr/local/tomcat/bin \
 && ln -s /usr/share/tomcat10/lib /usr/local/tomcat/lib
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 CATALINA_HOME=/usr/share/tomcat10 CATALINA_BASE=/usr/local/tomcat \
    PATH=/usr/local/tomcat/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /usr/local/tomcat
EXPOSE 8080
CMD ["/usr/share/tomcat10/bin/catalina.sh", "run"]
