// The MongoDB wire-protocol server of tsf's tests: mongo-java-server (https://github.com/bwaldvogel/mongo-java-server)
// on 127.0.0.1, in memory, or in an H2 file that survives a restart; optionally TLS only.
//
//   java -cp 'lib/*' TsfMongoServer.java PORT [H2FILE] [--tls KEY.pem CERT.pem]
//
// PORT 0 takes a free port. Prints "tsf-mongodb ready on 127.0.0.1:PORT" once it accepts
// connections. SIGTERM shuts it down cleanly (the H2 file is committed and closed), so a restart on
// the same file finds every write. KEY.pem is an unencrypted PKCS#8 key ("BEGIN PRIVATE KEY").
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

public class TsfMongoServer {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String h2 = null;
    String key = null;
    String cert = null;
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--tls")) {
        key = args[++i];
        cert = args[++i];
      } else h2 = args[i];
    }
    MongoBackend backend = h2 != null ? new H2Backend(h2) : new MemoryBackend();
    MongoServer server = new MongoServer(backend);
    if (key != null) {
      String pem = Files.readString(Path.of(key)).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
      PrivateKey privateKey = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
      X509Certificate certificate;
      try (FileInputStream in = new FileInputStream(cert)) {
        certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      }
      server.enableSsl(privateKey, null, certificate);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdownNow();
      backend.close();
    }));
    server.bind("127.0.0.1", port);
    System.out.println("tsf-mongodb ready on " + server.getLocalAddress().getHostString() + ":" + server.getLocalAddress().getPort());
    System.out.flush();
    Thread.currentThread().join();
  }
}
