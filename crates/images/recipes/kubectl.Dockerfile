FROM {{BASE}}
COPY kubectl /opt/bitnami/kubectl/bin/kubectl
RUN ln -s /opt/bitnami/kubectl/bin/kubectl /usr/local/bin/kubectl && mkdir -p /.kube && chmod 777 /.kube
USER 1001
WORKDIR /
ENTRYPOINT ["kubectl"]
CMD ["--help"]
