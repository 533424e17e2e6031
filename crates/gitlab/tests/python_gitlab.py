"""Drives the embedded GitLab with python-gitlab, a client nobody here wrote.

Usage: python_gitlab.py URL PERSONAL_ACCESS_TOKEN ROOT_PASSWORD PROJECT_PATH

Prints one JSON object: the pipeline ids python-gitlab lists with the personal access token and
with an OAuth token from the password grant, and how Basic auth with the password fares on the
API.
"""

import json
import sys

import gitlab
import requests


def pipeline_ids(gl, path):
    gl.auth()
    project = gl.projects.get(path)
    return [p.id for p in project.pipelines.list(get_all=True)]


def main():
    url, pat, password, path = sys.argv[1:5]
    result = {"python_gitlab": gitlab.__version__}

    result["pat_user"] = None
    with gitlab.Gitlab(url, private_token=pat) as gl:
        result["pat_pipelines"] = pipeline_ids(gl, path)
        result["pat_user"] = gl.user.username

    grant = requests.post(
        url.rstrip("/") + "/oauth/token",
        data={"grant_type": "password", "username": "root", "password": password},
        timeout=30,
    )
    grant.raise_for_status()
    token = grant.json()["access_token"]
    with gitlab.Gitlab(url, oauth_token=token) as gl:
        result["oauth_pipelines"] = pipeline_ids(gl, path)

    with gitlab.Gitlab(url, http_username="root", http_password=password) as gl:
        try:
            gl.auth()
            result["basic_auth"] = "accepted"
        except gitlab.exceptions.GitlabAuthenticationError as e:
            result["basic_auth"] = e.response_code

    print(json.dumps(result))


if __name__ == "__main__":
    main()
