// The MongoDB wire-protocol server of tsf's tests: mongo-java-server (https://github.com/bwaldvogel/mongo-java-server)
// on 127.0.0.1, in memory, or in an H2 file that survives a restart.
//
//   java -cp 'lib/*' TsfMongoServer.java PORT [H2FILE]
//
// Prints "tsf-mongodb ready on 127.0.0.1:PORT" once it accepts connections. SIGTERM shuts it down
// cleanly (the H2 file is committed and closed), so a restart on the same file finds every write.
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

public class TsfMongoServer {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    MongoBackend backend = args.length > 1 ? new H2Backend(args[1]) : new MemoryBackend();
    MongoServer server = new MongoServer(backend);
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
