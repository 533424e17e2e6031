package io.gitlabk8sharness.sample;

import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Answers the context root and /health with the build's version and commit. */
@WebServlet(urlPatterns = {"", "/health"})
public class AppServlet extends HttpServlet {
    private final Properties build = new Properties();

    @Override
    public void init() {
        try (InputStream in = getClass().getResourceAsStream("/build.properties")) {
            if (in != null) {
                build.load(in);
            }
        } catch (IOException e) {
            log("cannot read build.properties", e);
        }
    }

    private String commit() {
        String commit = build.getProperty("commit", "");
        // Built outside a pipeline, Maven leaves the ${env.CI_COMMIT_SHA} reference as it is.
        return commit.isEmpty() || commit.startsWith("${") ? "local" : commit;
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setContentType("text/plain;charset=UTF-8");
        String version = build.getProperty("version", "unknown");
        if ("/health".equals(request.getServletPath())) {
            response.getWriter().println("ok " + version + " " + commit());
        } else {
            response.getWriter().println("Hello from sample-java-app " + version + " (commit " + commit() + ")");
        }
    }
}
